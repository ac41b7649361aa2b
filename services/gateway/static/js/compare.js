// Compare: the input, the result and their difference in three NiiVue views that follow each other
// (cursor, slice, pan, plane), one window/level for input and result, the metrics, the quality estimates,
// and the downloads: the result, and with a quality block what was removed (the residual).

import { getFile } from "./api.js";
import { byId, element, formatNumber, setText, showError } from "./dom.js";

const KINDS = ["input", "result", "difference"];
const LINKED_WINDOW = ["input", "result"]; // same units, so one window: differences are real, not display
const views = {};
let attached = null;
let shown = null;
let defaults = { low: 0, high: 1, difference: 1 };

/** Where each view's volume comes from: always gzipped NIfTI, which the viewer reads. The difference view
 * stays on this preview; GET /jobs/{id}/residual (the same input - result, in the input's own format, for
 * DICOM a new series) is what the "Download what was removed" button fetches. */
export function previewUrl(jobId, kind) {
  return `/jobs/${encodeURIComponent(jobId)}/preview/${kind}`;
}

export function initCompare() {
  byId("plane").addEventListener("change", applyPlane);
  for (const id of ["window-min", "window-max"]) {
    byId(id).addEventListener("change", () => setWindow(Number(byId("window-min").value), Number(byId("window-max").value)));
  }
  byId("difference-range").addEventListener("change", () => setDifferenceRange(Number(byId("difference-range").value)));
  byId("window-reset").addEventListener("click", resetWindow);
  byId("download").addEventListener("click", () => download("result", "the result"));
  byId("download-residual").addEventListener("click", () => download("residual", "what was removed"));
}

function library() {
  if (!window.niivue) {
    throw new Error("the volume viewer (NiiVue) did not load");
  }
  return window.niivue;
}

async function attach() {
  const { Niivue, SHOW_RENDER, MULTIPLANAR_TYPE } = library();
  for (const kind of KINDS) {
    const nv = new Niivue({
      logLevel: "warn",
      show3Dcrosshair: false,
      isOrientCube: false,
      multiplanarShowRender: SHOW_RENDER.NEVER,
      multiplanarLayout: MULTIPLANAR_TYPE.GRID,
      crosshairColor: [1, 0.25, 0.25, 1],
      crosshairWidth: 1,
    });
    await nv.attachToCanvas(byId(`view-${kind}`));
    nv.onLocationChange = () => requestAnimationFrame(() => showLocation(kind));
    nv.onIntensityChange = (volume) => {
      if (LINKED_WINDOW.includes(kind)) {
        setWindow(volume.cal_min, volume.cal_max);
      }
    };
    views[kind] = nv;
  }
  // Each view drives the other two: cursor, slice and pan ("2d"), and the choice of planes.
  for (const kind of KINDS) {
    const others = KINDS.filter((other) => other !== kind).map((other) => views[other]);
    views[kind].broadcastTo(others, { "2d": true, "3d": true, sliceType: true });
  }
}

/** Load a succeeded job's three previews (gzipped NIfTI whatever the upload's format) and its metrics. */
export async function openCompare(job) {
  const section = byId("compare");
  const status = byId("compare-status");
  shown = job.job_id;
  section.hidden = false;
  delete section.dataset.loaded;
  showError(byId("compare-error"), "");
  showMetrics(job.metrics);
  showQuality(job.quality);
  byId("download-residual").hidden = !job.quality; // a job with a quality block has written its residual
  setText(status, "Loading the volumes…");
  try {
    attached = attached || attach();
    await attached;
    const files = await Promise.all(KINDS.map((kind) => getFile(previewUrl(job.job_id, kind), `${kind}.nii.gz`)));
    if (shown !== job.job_id) {
      return; // another job was opened meanwhile
    }
    for (const [index, kind] of KINDS.entries()) {
      const nv = views[kind];
      while (nv.volumes.length > 0) {
        nv.removeVolume(nv.volumes[0]);
      }
      // trustCalMinMax off: the window comes from the voxels' robust range, not from a header's cal_min and
      // cal_max (the difference preview inherits the input's header, whose display range is not its own).
      const name = `${kind}.nii.gz`;
      nv.addVolume(await library().NVImage.loadFromUrl({ url: name, name, buffer: files[index].buffer, trustCalMinMax: false }));
    }
    const input = views.input.volumes[0];
    const difference = views.difference.volumes[0];
    defaults = {
      low: input.cal_min,
      high: input.cal_max,
      difference: Math.max(Math.abs(difference.cal_min), Math.abs(difference.cal_max)) || 1,
    };
    applyPlane();
    resetWindow();
    KINDS.forEach(showLocation);
    setText(status, "");
    section.dataset.loaded = job.job_id;
  } catch (error) {
    setText(status, "");
    showError(byId("compare-error"), `Cannot show the volumes: ${error.message}`);
  }
}

export function closeCompare() {
  shown = null;
  byId("compare").hidden = true;
}

function applyPlane() {
  const type = Number(byId("plane").value);
  for (const kind of KINDS) {
    if (views[kind]) {
      views[kind].setSliceType(type);
    }
  }
}

function setWindow(low, high) {
  if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) {
    return;
  }
  for (const kind of LINKED_WINDOW) {
    const nv = views[kind];
    if (nv && nv.volumes.length > 0) {
      nv.volumes[0].cal_min = low;
      nv.volumes[0].cal_max = high;
      nv.updateGLVolume();
    }
  }
  byId("window-min").value = String(Number(low.toPrecision(6)));
  byId("window-max").value = String(Number(high.toPrecision(6)));
}

function setDifferenceRange(range) {
  const nv = views.difference;
  if (!(Number.isFinite(range) && range > 0) || !nv || nv.volumes.length === 0) {
    return;
  }
  nv.volumes[0].cal_min = -range;
  nv.volumes[0].cal_max = range;
  nv.updateGLVolume();
  byId("difference-range").value = String(Number(range.toPrecision(6)));
}

function resetWindow() {
  setWindow(defaults.low, defaults.high);
  setDifferenceRange(defaults.difference);
}

/** The voxel under the cursor in a view's own grid, and the value there. */
function showLocation(kind) {
  const nv = views[kind];
  if (!nv || nv.volumes.length === 0) {
    return;
  }
  const volume = nv.volumes[0];
  const voxel = Array.from(volume.mm2vox(Array.from(nv.frac2mm(nv.scene.crosshairPos))), Math.round);
  setText(document.querySelector(`[data-voxel="${kind}"]`), voxel.join(", "));
  const value = volume.getValue(voxel[0], voxel[1], voxel[2]);
  setText(document.querySelector(`[data-value="${kind}"]`), Number.isFinite(value) ? Number(value.toPrecision(4)) : "");
}

function showMetrics(metrics) {
  const table = byId("metrics");
  table.hidden = !metrics;
  if (!metrics) {
    return;
  }
  setText(byId("metrics-range"), `data range ${Number(metrics.data_range.toPrecision(6))}, the ground truth's max - min`);
  const digits = { psnr: 2, rmse: 4, ssim: 4 };
  for (const row of ["volume", "slice_mean"]) {
    for (const [name, decimals] of Object.entries(digits)) {
      const cell = table.querySelector(`[data-metrics="${row}"] [data-metric="${name}"]`);
      setText(cell, formatNumber(metrics[row][name], decimals));
    }
  }
}

/** The job's quality estimates without a reference (its `quality` block), as text in a small table. */
function showQuality(quality) {
  const table = byId("quality");
  table.hidden = !quality;
  if (!quality) {
    return;
  }
  const cell = (name) => table.querySelector(`[data-quality="${name}"]`);
  const sigma = quality.noise_sigma;
  setText(cell("noise"), sigma == null ? "not available" : `${formatNumber(sigma, 4)} (${formatNumber(quality.noise_sigma_255, 2)} on the 0-255 scale)`);
  setText(
    cell("error"),
    quality.rmse_estimate == null
      ? "not available"
      : `RMSE ${formatNumber(quality.rmse_estimate, 4)}` +
          (quality.rmse_uncertainty == null ? "" : ` +/- ${Number(quality.rmse_uncertainty.toPrecision(2))}`) +
          `, PSNR ${formatNumber(quality.psnr_estimate, 2)} dB on a range of ${formatNumber(quality.data_range, 4)}` +
          (quality.gain_estimate_db == null ? "" : `; ${quality.gain_estimate_db >= 0 ? "+" : ""}${formatNumber(quality.gain_estimate_db, 2)} dB against the input`),
  );
  setText(cell("pair"), quality.pair ? `RMSE ${formatNumber(quality.pair.rmse, 4)}, PSNR ${formatNumber(quality.pair.psnr, 2)} dB` : "no second acquisition");
  const removed = quality.residual;
  setText(
    cell("removed"),
    removed
      ? `sd ${formatNumber(removed.std_ratio, 2)} x the noise sigma (about 1: noise only), correlation with the result ${removed.correlation == null ? "-" : formatNumber(removed.correlation, 3)}`
      : "not available",
  );
  const warnings = quality.warnings || [];
  setText(cell("warnings"), warnings.length ? warnings.join("; ") : "none");
}

/** Fetch one of the job's files with the key header (a plain link could not send it) and save it. */
async function download(kind, what) {
  if (!shown) {
    return;
  }
  try {
    const file = await getFile(`/jobs/${encodeURIComponent(shown)}/${kind}`, kind);
    const url = URL.createObjectURL(new Blob([file.buffer], { type: file.type }));
    const link = element("a", { href: url, download: file.name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    showError(byId("compare-error"), `Cannot download ${what}: ${error.message}`);
  }
}
