// Watch: a job's status, stage, epoch, loss and progress, polled live, with cancel and the job's own error.

import { getJson, remove } from "./api.js";
import { byId, setText, showError } from "./dom.js";

const POLL_MS = 1000;
let current = null;
let timer = null;
let handlers = {};

export function initWatch(callbacks) {
  handlers = callbacks;
  byId("watch-cancel").addEventListener("click", cancel);
}

/** Follow a job until it ends; `onSucceeded(job)` is called once when it has. */
export function follow(jobId) {
  clearTimeout(timer);
  current = jobId;
  byId("watch").hidden = false;
  setText(byId("watch-id"), jobId);
  for (const id of ["watch-files", "watch-method", "watch-status", "watch-stage", "watch-epoch", "watch-loss", "watch-percent"]) {
    setText(byId(id), "");
  }
  byId("watch-progress").value = 0;
  byId("watch-cancel").disabled = false;
  setText(byId("watch-note"), "");
  showError(byId("watch-error"), "");
  poll(jobId);
}

export function currentJob() {
  return current;
}

async function poll(jobId) {
  let job;
  try {
    job = await getJson(`/jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    if (jobId !== current) {
      return;
    }
    if (error.status === 404) {
      showGone(jobId);
      return;
    }
    showError(byId("watch-error"), `Cannot read the job: ${error.message}`);
    timer = setTimeout(() => poll(jobId), POLL_MS * 3);
    return;
  }
  if (jobId !== current) {
    return;
  }
  render(job);
  if (job.status === "succeeded") {
    byId("watch-cancel").disabled = true;
    handlers.onSucceeded(job);
  } else if (job.status === "failed") {
    byId("watch-cancel").disabled = true;
    showError(byId("watch-error"), `The job failed: ${job.error || "no message"}`);
    handlers.onEnded(job);
  } else {
    timer = setTimeout(() => poll(jobId), POLL_MS);
  }
}

function render(job) {
  const files = Object.entries(job.inputs || {}).map(([role, name]) => `${name} (${role.replace("_", " ")})`);
  setText(byId("watch-files"), files.join(", "));
  setText(byId("watch-method"), job.method ? `${job.method}${job.model_id ? `, model ${job.model_id}` : ", fitted on the upload"}` : job.kind);
  setText(byId("watch-status"), job.status);
  const progress = job.progress || {};
  setText(byId("watch-stage"), [job.step, progress.stage].filter(Boolean).join(": "));
  setText(byId("watch-epoch"), progress.epochs ? `${progress.epoch ?? 0} / ${progress.epochs}` : "");
  setText(byId("watch-loss"), progress.loss === null || progress.loss === undefined ? "" : Number(progress.loss).toPrecision(4));
  const fraction = Number(progress.fraction ?? 0);
  byId("watch-progress").value = fraction;
  setText(byId("watch-percent"), `${Math.round(fraction * 100)}% of this stage`);
}

function showGone(jobId) {
  clearTimeout(timer);
  setText(byId("watch-status"), "gone");
  byId("watch-cancel").disabled = true;
  showError(byId("watch-error"), `Job ${jobId} no longer exists: it was cancelled or removed.`);
  handlers.onEnded(null);
}

async function cancel() {
  const jobId = current;
  if (!jobId) {
    return;
  }
  byId("watch-cancel").disabled = true;
  try {
    await remove(`/jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    if (error.status !== 404) {
      byId("watch-cancel").disabled = false;
      showError(byId("watch-error"), `Could not cancel: ${error.message}`);
      return;
    }
  }
  clearTimeout(timer);
  current = null;
  setText(byId("watch-status"), "cancelled");
  setText(byId("watch-stage"), "");
  setText(byId("watch-note"), `Job ${jobId} was cancelled; its files are removed.`);
  handlers.onEnded(null);
}
