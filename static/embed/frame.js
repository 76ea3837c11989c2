/* A journey page inside a business's frame (journey/_frame.html adds it in embedded mode).

   - Posts the journey's events to the host page, whose origin the server checked
     against the journey's allowed origins: postMessage with that targetOrigin, never "*".
   - Tells the host page whether the customer is mid-journey (``in_progress``, with the
     step), so that it can ask before the customer leaves it; cleared at done/declined.
   - Opens the provider's sign-in in a popup window, watches it, and moves on when the
     server says the sign-in ended; a window closed early is reported, never waited on.
   See docs/embedding.md. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="onramp-host-origin"]');
  var hostOrigin = meta ? meta.getAttribute("content") : null;
  var framed = window.parent !== window;
  var TERMINAL = ["linked", "failed", "choosing"];
  var watcher = null;
  // What the host page was last told about being mid-journey ("true:software").
  var progressTold = null;

  function post(type, detail) {
    if (!hostOrigin || !framed) {
      return;
    }
    var message = { onramp: 1, type: type };
    Object.keys(detail || {}).forEach(function (key) {
      if (key !== "type" && key !== "onramp") {
        message[key] = detail[key];
      }
    });
    window.parent.postMessage(message, hostOrigin);
  }

  function flushEvents() {
    var holder = document.querySelector("[data-onramp-events]");
    if (!holder) {
      return;
    }
    var events;
    try {
      events = JSON.parse(holder.getAttribute("data-onramp-events"));
    } catch (error) {
      events = [];
    }
    holder.removeAttribute("data-onramp-events");
    events.forEach(function (event) {
      post(event.type, event);
    });
  }

  // The page says whether leaving now would cut the customer off mid-journey; the host
  // page hears of each change (a new step, or the journey finished).
  function reportProgress(override) {
    var holder = document.querySelector("[data-onramp-progress]");
    var progress = override || null;
    if (!progress && holder) {
      try {
        progress = JSON.parse(holder.getAttribute("data-onramp-progress"));
      } catch (error) {
        progress = null;
      }
    }
    if (!progress || typeof progress.in_progress !== "boolean") {
      return;
    }
    var told = progress.in_progress + ":" + progress.step;
    if (told === progressTold) {
      return;
    }
    progressTold = told;
    post("in_progress", { in_progress: progress.in_progress, step: progress.step });
  }

  function reportHeight() {
    post("resize", { height: document.documentElement.scrollHeight });
  }

  function getStatus(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .catch(function () {
        return null;
      });
  }

  function stopWatching() {
    if (watcher) {
      window.clearInterval(watcher.timer);
      window.removeEventListener("message", watcher.onMessage);
      watcher = null;
    }
  }

  // Polls the run's connection status; ``popup`` is the provider's window, if one is open.
  function watch(options) {
    stopWatching();
    var current = { done: false, timer: 0, onMessage: null };
    watcher = current;

    function finish(url) {
      current.done = true;
      stopWatching();
      window.location.assign(url);
    }

    function check(popupClosed) {
      getStatus(options.statusUrl).then(function (status) {
        if (current.done) {
          return;
        }
        var moved = status && TERMINAL.indexOf(status.state) !== -1 &&
          (options.anyAttempt || status.connection !== options.attempt);
        if (moved) {
          finish(status.next);
        } else if (popupClosed) {
          post("closed", { reason: "provider_window" });
          finish(options.closedUrl);
        }
      });
    }

    current.onMessage = function (event) {
      if (event.origin === window.location.origin && event.data &&
          event.data.onramp === 1 && event.data.type === "provider_done") {
        check(false);
      }
    };
    window.addEventListener("message", current.onMessage);
    var ticks = 0;
    current.timer = window.setInterval(function () {
      ticks += 1;
      if (options.popup && options.popup.closed) {
        window.clearInterval(current.timer);
        check(true);
      } else if (options.popup || ticks % 3 === 0) {
        check(false);
      }
    }, 1000);
  }

  function openProvider(event, link) {
    var popup = window.open(
      link.getAttribute("data-onramp-popup"), "onramp-provider", "popup,width=520,height=720"
    );
    if (!popup) {
      // Blocked: the link itself goes on in the whole tab (target="_top"), on purpose,
      // so the host page should let it go without asking.
      reportProgress({ in_progress: false, step: "provider" });
      post("error", { code: "popup_blocked" });
      return;
    }
    event.preventDefault();
    var waiting = document.querySelector("[data-onramp-waiting]");
    if (waiting) {
      waiting.hidden = false;
    }
    watch({
      popup: popup,
      statusUrl: link.getAttribute("data-onramp-status"),
      closedUrl: link.getAttribute("data-onramp-closed"),
      attempt: link.getAttribute("data-onramp-attempt") || "",
    });
  }

  function enhance() {
    flushEvents();
    reportProgress();
    document.querySelectorAll("button[data-onramp-close]").forEach(function (button) {
      button.hidden = false;
    });
    var pending = document.querySelector("[data-onramp-watch]");
    if (pending && !watcher) {
      // An attempt is still open (perhaps in a window the frame lost track of).
      watch({ statusUrl: pending.getAttribute("data-onramp-watch"), anyAttempt: true });
    }
    reportHeight();
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    var connect = target.closest("[data-onramp-popup]");
    if (connect) {
      openProvider(event, connect);
      return;
    }
    var closer = target.closest("[data-onramp-close]");
    if (closer) {
      post("closed", { reason: "journey" });
    }
  });
  // htmx swaps #journey for each step: whatever the htmx version, new content is new nodes.
  new MutationObserver(function (mutations) {
    if (mutations.some(function (m) { return m.addedNodes.length > 0; })) {
      enhance();
    }
  }).observe(document.body, { childList: true, subtree: true });
  window.addEventListener("resize", reportHeight);
  post("page", {});
  enhance();
})();
