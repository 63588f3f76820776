// Shows every <time> in the viewer's own time zone; the UTC time stays in
// the title (hover) and is what a browser without JavaScript shows.
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) return;
  el.textContent = d.toLocaleString(undefined, {weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
});

// Checks the ticket number of the activation form while the requester
// types (the server applies the activation's own rule and says why a
// ticket is refused). The form is checked again on submit, and works
// without this.
(function () {
  var input = document.querySelector("input[data-check]");
  var status = document.getElementById("ticket-status");
  if (!input || !status || !window.fetch) return;
  var timer = null, seq = 0;
  function check() {
    var n = input.value.trim(), mine = ++seq;
    if (n === "") { status.textContent = ""; status.className = "hint"; return; }
    var duration = document.getElementById("duration");
    var url = input.getAttribute("data-check") + "&number=" + encodeURIComponent(n) +
      (duration ? "&duration=" + encodeURIComponent(duration.value) : "");
    status.textContent = "Checking " + n + "…";
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (a) {
        if (mine !== seq) return; // an answer to an older keystroke
        status.textContent = a.message || "";
        status.className = a.ok ? "hint ok" : "hint refused";
      })
      .catch(function () { if (mine === seq) { status.textContent = ""; } });
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 400); });
  input.addEventListener("change", check);
})();
