// fusionbook: where require.js places the ipywidgets HTML manager (loaded after require.js, before
// embed-amd.js). embed-amd.js defines named AMD modules ("@jupyter-widgets/html-manager/dist/libembed-amd",
// "@jupyter-widgets/controls", ...) and takes webpack's public path, from which it loads its font files,
// from the module's URL. Without a path that URL is relative to the page (book/@jupyter-widgets/...),
// where nothing is; here it is this folder, _static/widgets, where the book runner copies the fonts.
(function () {
  "use strict";
  var me = document.currentScript && document.currentScript.src;
  if (!me || typeof require === "undefined" || !require.config) {
    return;
  }
  var here = me.slice(0, me.lastIndexOf("/"));
  require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": here,
      "@jupyter-widgets": here
    }
  });
})();
