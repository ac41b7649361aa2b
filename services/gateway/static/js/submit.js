// Submit: a volume (and optionally a second acquisition and a ground truth), a method, a registered model
// or a fit on the upload with its budget and the time that budget is expected to take on this server.

import { ApiError, getJson, postForm } from "./api.js";
import { byId, element, formatSeconds, setText, showError } from "./dom.js";

const FILE_FIELDS = ["file", "file2", "ground_truth"];
let onAccepted = () => {};
let estimateTimer = null;
let keyChecked = false; // no API call before the page knows the key works (a 401 would only be noise)

export function initSubmit(accepted) {
  onAccepted = accepted;
  for (const field of FILE_FIELDS) {
    const input = byId(field);
    input.addEventListener("change", () => showChosen(field));
    const zone = document.querySelector(`.drop[data-input="${field}"]`);
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length > 0) {
        const transfer = new DataTransfer();
        transfer.items.add(event.dataTransfer.files[0]);
        input.files = transfer.files;
        showChosen(field);
      }
    });
  }
  byId("method").addEventListener("change", () => {
    // Each method's own start: its prior (no training) or a fit, with the fit budget it defaults to; the
    // gateway writes both on each method's option (data-model, data-epochs) from the method registry.
    const chosen = methodOption();
    byId("epochs").value = chosen.dataset.epochs;
    loadModels(chosen.dataset.model);
    updateBudget();
  });
  byId("model").addEventListener("change", updateBudget);
  byId("epochs").addEventListener("input", scheduleEstimate);
  byId("steps").addEventListener("input", scheduleEstimate);
  byId("submit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  updateBudget();
}

/** The chosen method's option: its prior (data-model; empty: it fits) and its fit's epochs (data-epochs). */
function methodOption() {
  const select = byId("method");
  return select.options[select.selectedIndex];
}

function showChosen(field) {
  const file = byId(field).files[0];
  setText(document.querySelector(`[data-chosen="${field}"]`), file ? `${file.name} (${formatBytes(file.size)})` : "");
}

function formatBytes(bytes) {
  if (bytes < 1024 * 1024) {
    return `${Math.ceil(bytes / 1024)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The registered models of the chosen method, newest first, beside the prior and a fit on the upload. */
export async function loadModels(selected = "") {
  if (!keyChecked) {
    return;
  }
  const method = byId("method").value;
  const prior = methodOption().dataset.model;
  const select = byId("model");
  const keep = selected || select.value;
  try {
    const page = await getJson("/models?limit=100");
    // A method with a prior (n2n) starts from it (no training); its fit fine-tunes it. Others fit.
    const choices =
      prior
        ? [element("option", { value: prior }, "The shipped prior (seconds)"),
           element("option", { value: "" }, "Fine-tune the prior on this upload")]
        : [element("option", { value: "" }, "Fit on this upload")];
    select.replaceChildren(...choices);
    for (const model of page.items.filter((item) => item.method === method)) {
      select.append(element("option", { value: model.id }, model.id));
    }
    const fallback = prior;
    select.value = [...select.options].some((option) => option.value === keep) ? keep : fallback;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      showError(byId("submit-error"), `Could not list the models: ${error.message}`);
    }
  }
  updateBudget();
}

/** Choose a registered model (from the Browse table). */
export async function useModel(model) {
  byId("method").value = model.method;
  await loadModels(model.id);
  byId("submit").scrollIntoView({ behavior: "smooth" });
}

function fitting() {
  return byId("model").value === "";
}

function updateBudget() {
  byId("budget").disabled = !fitting();
  scheduleEstimate();
}

function scheduleEstimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(estimate, 250);
}

async function estimate() {
  const target = byId("estimate");
  if (!keyChecked) {
    return;
  }
  if (!fitting()) {
    setText(target, "A registered model is used as it was trained: no fit.");
    return;
  }
  const epochs = Number(byId("epochs").value);
  const steps = Number(byId("steps").value);
  if (!(epochs >= 1 && steps >= 1)) {
    setText(target, "");
    return;
  }
  const method = byId("method").value;
  const query = new URLSearchParams({ method, epochs: String(epochs), steps_per_epoch: String(steps) });
  try {
    const result = await getJson(`/estimates/fit?${query}`);
    const total = `${result.steps} training steps`;
    setText(
      target,
      result.seconds === null
        ? `${total}. ${result.note}`
        : `${total}: about ${formatSeconds(result.seconds)} on this server. ${result.note}`,
    );
  } catch (error) {
    setText(target, error.status === 401 ? "" : `No estimate: ${error.message}`);
  }
}

function fitParams() {
  const text = byId("params").value.trim();
  let extra = {};
  if (text) {
    extra = JSON.parse(text); // a SyntaxError is reported to the user below
    if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
      throw new SyntaxError("it must be a JSON object of config fields");
    }
  }
  return { ...extra, epochs: Number(byId("epochs").value), steps_per_epoch: Number(byId("steps").value) };
}

async function submit() {
  const error = byId("submit-error");
  showError(error, "");
  const file = byId("file").files[0];
  if (!file) {
    showError(error, "Choose a noisy volume first (or drop it on the first box).");
    return;
  }
  const form = new FormData();
  form.append("file", file);
  form.append("method", byId("method").value);
  for (const field of ["file2", "ground_truth"]) {
    const extra = byId(field).files[0];
    if (extra) {
      form.append(field, extra);
    }
  }
  if (fitting()) {
    try {
      form.append("params", JSON.stringify(fitParams()));
    } catch (problem) {
      showError(error, `Advanced config fields: ${problem.message}`);
      return;
    }
  } else {
    form.append("model_id", byId("model").value);
  }
  const seriesUid = byId("series-uid").value.trim();
  if (seriesUid) {
    form.append("series_uid", seriesUid);
  }
  const button = byId("submit-button");
  const bar = byId("upload-progress");
  button.disabled = true;
  bar.hidden = false;
  bar.value = 0;
  setText(byId("upload-status"), "Uploading…");
  try {
    const accepted = await postForm("/denoise", form, (fraction) => {
      bar.value = fraction;
      setText(byId("upload-status"), fraction < 1 ? `Uploading ${Math.round(fraction * 100)}%` : "Checking the files…");
    });
    setText(byId("upload-status"), "");
    onAccepted(accepted.job_id);
  } catch (problem) {
    setText(byId("upload-status"), "");
    showError(error, `Not accepted: ${problem.message}`);
  } finally {
    button.disabled = false;
    bar.hidden = true;
  }
}

/** Ask again how long a fit takes (a finished job adds to this server's history). */
export function refreshEstimate() {
  scheduleEstimate();
}

/** Refresh what depends on the key, once it works. */
export function refreshSubmit() {
  keyChecked = true;
  loadModels();
}
