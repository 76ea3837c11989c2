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

  // While the customer is mid-journey, leaving this page (a link, reload, closing the
  // tab) asks them to confirm first: the browser shows its own "Leave site?" question.
  var status = document.getElementById("journey-progress");
  var inProgress = false;
  window.addEventListener("beforeunload", function (event) {
    if (inProgress) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  function showProgress(event) {
    inProgress = event.in_progress === true;
    status.textContent = inProgress
      ? "Journey in progress (step " + event.step + "): leaving this page asks first."
      : "Journey not in progress: this page can be left freely.";
    status.hidden = false;
  }

  var journey = null;
  button.addEventListener("click", function () {
    button.hidden = true;
    journey = window.Onramp.open({
      link: embedded,
      container: "#onramp",
      title: "Connect your accounting software",
      onEvent: function (event) {
        if (event.type === "in_progress") {
          showProgress(event);
          return;
        }
        if (event.type === "error" && event.code === "popup_blocked") {
          inProgress = false;  // the whole tab goes to the provider, on purpose
        }
        record(event);
        if (event.type === "closed" && event.reason === "journey") {
          journey.close();
        }
      },
    });
  });
})();
