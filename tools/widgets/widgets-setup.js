// fusionbook: loaded after require.js and before embed-amd.js (the ipywidgets HTML manager) on every page.
(function () {
  "use strict";

  // 1. Where require.js places the manager's modules. embed-amd.js defines named AMD modules
  //    ("@jupyter-widgets/html-manager/dist/libembed-amd", "@jupyter-widgets/controls", ...) and takes
  //    webpack's public path, from which it loads its font files, from the module's URL. Without a path that
  //    URL is relative to the page (book/@jupyter-widgets/...), where nothing is; here it is this folder,
  //    _static/widgets, where the book runner copies the fonts.
  var me = document.currentScript && document.currentScript.src;
  if (me && typeof require !== "undefined" && require.config) {
    var here = me.slice(0, me.lastIndexOf("/"));
    require.config({
      paths: {
        "@jupyter-widgets/html-manager/dist": here,
        "@jupyter-widgets": here
      }
    });
  }

  // 2. ipywidgets typesets labels with MathJax 2's MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]);
  //    the book loads MathJax 3, which has no Hub ("Cannot read properties of undefined (reading 'Queue')").
  //    This Hub hands the element to MathJax 3's typesetPromise.
  function hub() {
    return {
      Queue: function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        var mathjax = window.MathJax;
        if (mathjax && typeof mathjax.typesetPromise === "function") {
          mathjax.typesetPromise(element ? [element] : undefined).catch(function () {});
        }
      }
    };
  }
  var mathjax = window.MathJax;
  if (mathjax === undefined || mathjax.Hub) {
    return;
  }
  mathjax.Hub = hub();                 // while only the configuration object is there
  if (!mathjax.version) {              // MathJax 3 starts later (deferred) and replaces window.MathJax
    mathjax.startup = mathjax.startup || {};
    var ready = mathjax.startup.ready;
    mathjax.startup.ready = function () {
      if (ready) {
        ready();
      } else {
        window.MathJax.startup.defaultReady();
      }
      window.MathJax.Hub = hub();
    };
  }
})();
