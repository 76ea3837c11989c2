/* Onramp's embed script, for the business's own page. See docs/embedding.md.

     <script src="https://onramp.example/static/embed/onramp.js"></script>
     var journey = Onramp.open({
       link: "https://onramp.example/j/...",   // a journey link made for this customer
       container: "#connect",                  // an element, or a selector
       title: "Connect your accounting software",
       onEvent: function (event) { console.log(event.type, event); }
     });
     journey.close();                          // removes the frame

   Events: ready, step_changed, consent, connection, finished, closed, error, in_progress.
   Only messages from the frame itself, from Onramp's origin, are passed on. */
(function (window, document) {
  "use strict";
  var EVENTS = [
    "ready", "step_changed", "consent", "connection", "finished", "closed", "error", "in_progress",
  ];
  // How long a loaded frame may stay silent before it counts as not showing the journey.
  var SILENCE_MS = 3000;

  function open(options) {
    if (!options || !options.link) {
      throw new Error("Onramp.open: give the journey link as options.link");
    }
    var container = typeof options.container === "string"
      ? document.querySelector(options.container)
      : options.container;
    if (!container) {
      throw new Error("Onramp.open: options.container names no element");
    }
    var url = new URL(options.link, window.location.href);
    var onrampOrigin = url.origin;
    // The journey checks this origin against its integration.allowed_origins.
    url.searchParams.set("embed", window.location.origin);
    var onEvent = typeof options.onEvent === "function" ? options.onEvent : function () {};

    var frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = options.title || "Connect your accounting software";
    frame.className = "onramp-frame";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.minHeight = "480px";

    var pagesSpoken = 0;
    var loads = 0;

    function deliver(type, data) {
      var event = { type: type };
      Object.keys(data || {}).forEach(function (key) {
        if (key !== "onramp" && key !== "type") {
          event[key] = data[key];
        }
      });
      onEvent(event);
    }

    function onMessage(event) {
      if (event.origin !== onrampOrigin || event.source !== frame.contentWindow) {
        return;
      }
      var data = event.data;
      if (!data || data.onramp !== 1 || typeof data.type !== "string") {
        return;
      }
      if (data.type === "page") {
        pagesSpoken += 1;
      } else if (data.type === "resize") {
        if (options.autoResize !== false && typeof data.height === "number") {
          frame.style.height = Math.ceil(data.height) + "px";
        }
      } else if (EVENTS.indexOf(data.type) !== -1) {
        deliver(data.type, data);
      }
    }

    function onLoad() {
      loads += 1;
      var expected = loads;
      // A page that never speaks is an error page, or one the browser refused to frame.
      window.setTimeout(function () {
        if (pagesSpoken < expected && loads === expected) {
          deliver("error", { code: "frame_unavailable" });
        }
      }, SILENCE_MS);
    }

    window.addEventListener("message", onMessage);
    frame.addEventListener("load", onLoad);
    container.appendChild(frame);

    return {
      frame: frame,
      close: function () {
        window.removeEventListener("message", onMessage);
        frame.removeEventListener("load", onLoad);
        if (frame.parentNode) {
          frame.parentNode.removeChild(frame);
        }
      },
    };
  }

  window.Onramp = { open: open };
})(window, document);
