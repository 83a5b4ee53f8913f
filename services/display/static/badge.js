// The badge page's two conveniences, served as a file (the page's CSP
// allows no inline script). Without script the link stays selectable in
// its box; the buttons appear only where they work.
(function () {
  var copy = document.getElementById("copy-link");
  var link = document.getElementById("page-link");
  if (copy && link && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(link.value).then(function () {
        copy.textContent = copy.dataset.done;
      });
    });
  }
  var share = document.getElementById("share");
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({ title: share.dataset.title, url: share.dataset.url }).catch(function () {});
    });
  }
})();
