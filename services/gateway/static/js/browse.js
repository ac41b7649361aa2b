// Browse: recent jobs and registered models, newest first, a page at a time (GET /jobs, GET /models).

import { getJson } from "./api.js";
import { byId, element, formatNumber, formatTime, showError } from "./dom.js";

const PAGE = 10;
const cursors = { jobs: null, models: null };
let handlers = {};

export function initBrowse(callbacks) {
  handlers = callbacks;
  byId("jobs-refresh").addEventListener("click", refreshBrowse);
  byId("jobs-more").addEventListener("click", () => loadJobs(cursors.jobs));
  byId("models-more").addEventListener("click", () => loadModels(cursors.models));
}

export function refreshBrowse() {
  loadJobs(null);
  loadModels(null);
}

async function loadPage(resource, cursor) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (cursor) {
    query.set("cursor", cursor);
  }
  try {
    const page = await getJson(`/${resource}?${query}`);
    cursors[resource] = page.next_cursor;
    byId(`${resource}-more`).hidden = !page.next_cursor;
    return page.items;
  } catch (error) {
    if (error.status !== 401) {
      showError(byId("page-error"), `Cannot list the ${resource}: ${error.message}`);
    }
    return null;
  }
}

function emptyRow(columns, message) {
  return element("tr", {}, element("td", { colspan: columns, class: "empty" }, message));
}

async function loadJobs(cursor) {
  const items = await loadPage("jobs", cursor);
  if (items === null) {
    return;
  }
  const body = byId("jobs").tBodies[0];
  if (!cursor) {
    body.replaceChildren(...(items.length === 0 ? [emptyRow(6, "No jobs yet.")] : []));
  }
  for (const job of items) {
    const open = element("button", { type: "button", "data-job": job.job_id }, "Open");
    open.addEventListener("click", () => handlers.onOpenJob(job.job_id));
    const status =
      job.status === "running" && job.progress
        ? `running (${job.progress.stage}, ${Math.round(job.progress.fraction * 100)}%)`
        : job.status;
    body.append(
      element(
        "tr",
        { "data-job-row": job.job_id },
        element("td", {}, formatTime(job.created)),
        element("td", {}, element("code", {}, job.job_id.slice(0, 8))),
        element("td", {}, job.kind),
        element("td", {}, job.method || ""),
        element("td", {}, status + (job.has_metrics ? ", with metrics" : "")),
        element("td", {}, job.kind === "denoise" ? open : ""),
      ),
    );
  }
}

function dataSummary(data) {
  const parts = [];
  const volumes = Array.isArray(data.volumes) ? data.volumes.filter((volume) => Array.isArray(volume.shape)) : [];
  if (volumes.length > 0) {
    const shapes = volumes.map((volume) => {
      const spacing = Array.isArray(volume.spacing_mm) ? ` at ${volume.spacing_mm.map((mm) => Number(mm.toPrecision(3))).join("×")} mm` : "";
      return `${volume.shape.join("×")}${spacing}`;
    });
    parts.push(`${volumes.length} volume${volumes.length === 1 ? "" : "s"}: ${shapes.join(", ")}`);
  }
  if (data.source) {
    parts.push(data.source === "pairs" ? "noisy pairs" : data.source === "synthetic" ? "clean + synthetic noise" : String(data.source));
  }
  if (data.sigma !== undefined && data.sigma !== null) {
    parts.push(`sigma ${data.sigma} (0-255 scale)`);
  }
  return parts.join("; ");
}

function validationSummary(validation) {
  const parts = [];
  if (validation.val_psnr !== undefined && validation.val_psnr !== null) {
    parts.push(`PSNR ${formatNumber(validation.val_psnr, 2)} dB`);
  }
  if (validation.val_rmse !== undefined && validation.val_rmse !== null) {
    parts.push(`RMSE ${formatNumber(validation.val_rmse, 4)}`);
  }
  if (validation.val_loss !== undefined && validation.val_loss !== null) {
    parts.push(`loss ${Number(validation.val_loss).toPrecision(4)}`);
  }
  if (validation.best_epoch) {
    parts.push(`best epoch ${validation.best_epoch}`);
  }
  return parts.join(", ");
}

async function loadModels(cursor) {
  const items = await loadPage("models", cursor);
  if (items === null) {
    return;
  }
  const body = byId("models").tBodies[0];
  if (!cursor) {
    body.replaceChildren(...(items.length === 0 ? [emptyRow(6, "No registered model yet: POST /train registers one.")] : []));
  }
  for (const model of items) {
    const use = element("button", { type: "button" }, "Use");
    use.addEventListener("click", () => handlers.onUseModel(model));
    body.append(
      element(
        "tr",
        { "data-model-row": model.id },
        element("td", {}, formatTime(model.created)),
        element(
          "td",
          {},
          element("code", {}, model.id),
          model.shared ? element("span", { class: "tag", title: `shared by an admin; trained by ${model.owner || "an admin"}` }, "shared") : "",
        ),
        element("td", {}, model.method),
        element("td", {}, dataSummary(model.data || {})),
        element("td", {}, validationSummary(model.validation || {})),
        element("td", {}, use),
      ),
    );
  }
}
