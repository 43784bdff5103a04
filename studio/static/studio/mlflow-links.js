/* The links the mlflow client prints in every job's log -- "View run ... at <studio>/#/experiments/
   <id>/runs/<run id>" and "View experiment at <studio>/#/experiments/<id>" -- name routes of MLflow's
   own UI in the fragment, which never reaches the server, so "/" would show the jobs list. This
   sends such a link on to the studio's page for it (jobs/tracking/links.py): the run's job, or the
   jobs of the experiment. Signed out, the sign-in form goes there once signed in.
   The routes come from the <script> tag (data-run, data-experiment, with EXPERIMENT and RUN to fill). */
(function () {
  "use strict";
  var script = document.currentScript;
  // MLflow 3 adds "?workspace=<name>" after the route; run ids are hex, or the job's name here.
  var match = /^#\/experiments\/([0-9]+)(?:\/runs\/([\w.-]+))?\/?(?:\?.*)?$/.exec(window.location.hash);
  if (!script || !match) {
    return;
  }
  var target = match[2]
    ? script.getAttribute("data-run").replace("EXPERIMENT", match[1]).replace("RUN", match[2])
    : script.getAttribute("data-experiment").replace("EXPERIMENT", match[1]);
  var password = document.getElementById("id_password");
  var next = password && password.form ? password.form.elements.namedItem("next") : null;
  if (next) {
    next.value = target;  // the sign-in page: go there once signed in
    return;
  }
  window.location.replace(target);
})();
