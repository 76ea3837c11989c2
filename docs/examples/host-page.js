/* The example host page's own script (docs/examples/host-page.html). */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);

  // Hosted mode, on the way back: Onramp added outcome, customer_id and connection_id.
  // A real backend checks them through the API (or waits for the webhook) before acting.
  if (params.has("outcome")) {
    var returned = document.getElementById("returned");
    returned.textContent = "Welcome back. Outcome: " + params.get("outcome") +
      (params.get("connection_id") ? ", connection " + params.get("connection_id") : "") + ".";
    returned.hidden = false;
  }

  var hosted = params.get("hosted");
  if (hosted) {
    var link = document.getElementById("hosted-link");
    link.href = hosted;
    link.hidden = false;
    document.getElementById("hosted-missing").hidden = true;
  }

  var embedded = params.get("embedded");
  if (!embedded) {
    return;
  }
  document.getElementById("embedded-missing").hidden = true;
  var log = document.getElementById("event-log");
  var button = document.getElementById("embedded-open");

  function record(event) {
    var detail = {};
    Object.keys(event).forEach(function (key) {
      if (key !== "type") {
        detail[key] = event[key];
      }
    });
    var item = document.createElement("li");
    item.textContent = event.type + " " + JSON.stringify(detail);
    log.appendChild(item);
  }

  // Onramp serves its embed script itself, from the journey link's origin.
  var script = document.createElement("script");
  script.src = new URL("/static/embed/onramp.js", embedded).href;
  script.addEventListener("load", function () {
    button.hidden = false;
  });
  document.head.appendChild(script);

  var journey = null;
  button.addEventListener("click", function () {
    button.hidden = true;
    journey = window.Onramp.open({
      link: embedded,
      container: "#onramp",
      title: "Connect your accounting software",
      onEvent: function (event) {
        record(event);
        if (event.type === "closed" && event.reason === "journey") {
          journey.close();
        }
      },
    });
  });
})();
