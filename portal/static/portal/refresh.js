// "N new results, refresh" (portal/changes.py): ask every few seconds how many changes the list has had since
// the page was drawn; show the server's text as a link that reloads the page. Served from 'self' with the
// page's CSP nonce; nothing else on the page changes by itself, so nobody loses their place or selection.
(function () {
  "use strict";
  var banner = document.getElementById("portal-refresh");
  if (!banner || !window.fetch) {
    return;
  }
  var link = banner.querySelector("a");
  var since = banner.dataset.since;
  var every = Math.max(1, Number(banner.dataset.interval) || 15) * 1000;
  var timer = null;

  function ask() {
    if (document.hidden) {
      return; // asked again when the tab is looked at
    }
    fetch(banner.dataset.url + "&since=" + encodeURIComponent(since), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        if (answer.new > 0) {
          link.textContent = answer.text;
          banner.hidden = false;
        }
      })
      .catch(function () {
        // Logged out or offline: stop asking; the page still works as it is.
        window.clearInterval(timer);
      });
  }

  link.addEventListener("click", function (event) {
    event.preventDefault();
    window.location.reload();
  });
  document.addEventListener("visibilitychange", ask);
  timer = window.setInterval(ask, every);
})();
