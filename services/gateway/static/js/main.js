// The page: the API key, then Submit -> Watch -> Compare, and Browse. `#job=<id>` opens a job
// (fetal-denoise demo --keep-serving links to its result that way); the key is never in the URL.

import { ApiError, apiKey, getJson, setApiKey } from "./api.js";
import { initBrowse, refreshBrowse } from "./browse.js";
import { closeCompare, initCompare, openCompare } from "./compare.js";
import { byId, setText, showError } from "./dom.js";
import { initSubmit, refreshEstimate, refreshSubmit, useModel } from "./submit.js";
import { follow, initWatch } from "./watch.js";

function keyStatus(message, failed = false) {
  const status = byId("key-status");
  setText(status, message);
  status.classList.toggle("failed", failed);
}

/** Check the key against a route that needs it; say whether it works, and whose it is (each user sees
 * only their own jobs and models, and the shared ones). */
async function checkKey() {
  try {
    const me = await getJson("/whoami");
    keyStatus(apiKey() ? "key accepted" : "no key needed");
    setText(byId("whoami"), me.name ? `${me.name}${me.admin ? " (admin: every user's jobs)" : ""}` : "");
    showError(byId("page-error"), "");
    return true;
  } catch (error) {
    keyStatus(error instanceof ApiError ? error.message : String(error), true);
    setText(byId("whoami"), "");
    return false;
  }
}

async function useKey(event) {
  event.preventDefault();
  setApiKey(byId("api-key").value.trim());
  if (await checkKey()) {
    refreshSubmit();
    refreshBrowse();
    const jobId = jobFromHash();
    if (jobId) {
      openJob(jobId);
    }
  }
}

function openJob(jobId) {
  history.replaceState(null, "", `#job=${encodeURIComponent(jobId)}`);
  closeCompare();
  follow(jobId);
  byId("watch").scrollIntoView({ behavior: "smooth" });
}

function jobFromHash() {
  const match = /^#job=([A-Za-z0-9_-]+)$/.exec(location.hash);
  return match ? match[1] : null;
}

async function start() {
  byId("api-key").value = apiKey();
  byId("key-form").addEventListener("submit", useKey);
  byId("key-forget").addEventListener("click", () => {
    setApiKey("");
    byId("api-key").value = "";
    keyStatus("key forgotten");
    setText(byId("whoami"), "");
  });
  initSubmit((jobId) => {
    openJob(jobId);
    refreshBrowse();
  });
  initWatch({
    onSucceeded: (job) => {
      refreshBrowse();
      refreshEstimate();
      if (job.kind === "denoise") {
        openCompare(job);
      }
    },
    onEnded: () => refreshBrowse(),
  });
  initCompare();
  initBrowse({ onOpenJob: openJob, onUseModel: useModel });
  window.addEventListener("hashchange", () => {
    const jobId = jobFromHash();
    if (jobId) {
      openJob(jobId);
    }
  });
  getJson("/static/vendor/niivue.json")
    .then((vendored) => setText(byId("niivue-version"), `NiiVue ${vendored.version}`))
    .catch(() => {});
  const health = await getJson("/health").catch(() => null);
  if (health && !health.api_key_required) {
    keyStatus("this server needs no key");
  } else if (!apiKey()) {
    keyStatus("this server needs an API key", true);
  }
  if (health && (!health.api_key_required || apiKey()) && (await checkKey())) {
    refreshSubmit();
    refreshBrowse();
    const jobId = jobFromHash();
    if (jobId) {
      openJob(jobId);
    }
  }
  document.body.dataset.ready = "true";
}

start().catch((error) => showError(byId("page-error"), `The page could not start: ${error.message}`));
