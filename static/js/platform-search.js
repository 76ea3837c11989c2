/* The software step's search box filters the list as the customer types
   (templates/journey/steps/platform_select.html). Without JavaScript the same box
   reloads the step with ?q= and the server filters; both ignore case and accents.
   Listeners sit on the document, so a step swapped in by htmx needs no setup. */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function filter(input) {
    var list = document.querySelector("[data-platform-list]");
    var status = document.getElementById("platform-status");
    if (!list || !status) {
      return;
    }
    var wanted = fold(input.value);
    var shown = 0;
    list.querySelectorAll("li[data-platform-name]").forEach(function (item) {
      var match = fold(item.getAttribute("data-platform-name")).indexOf(wanted) !== -1;
      item.hidden = !match;
      if (match) {
        shown += 1;
      }
    });
    // What the server said about an earlier search no longer applies.
    document.querySelectorAll("[data-platform-clear]").forEach(function (clear) {
      clear.hidden = true;
    });
    var message = "";
    if (wanted) {
      if (shown === 0) {
        message = status.getAttribute("data-none").replace("{query}", input.value.trim());
      } else if (shown === 1) {
        message = status.getAttribute("data-one");
      } else {
        message = status.getAttribute("data-many").replace("{count}", String(shown));
      }
    }
    if (status.textContent !== message) {
      status.textContent = message;
    }
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.closest("[data-platform-search]")) {
      filter(input);
    }
  });

  // The list is already filtered: pressing Enter in the box keeps the customer where they are.
  window.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (form instanceof HTMLFormElement && form.hasAttribute("data-platform-search")) {
        event.preventDefault();
        event.stopPropagation();
        var input = form.querySelector("input[type=search]");
        if (input) {
          filter(input);
        }
      }
    },
    true
  );
})();
