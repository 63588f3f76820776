// Shows every <time> in the viewer's own time zone; the UTC time stays in
// the title (hover) and is what a browser without JavaScript shows.
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) return;
  el.textContent = d.toLocaleString(undefined, {weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
});
