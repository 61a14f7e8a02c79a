// Job cards arrive two ways: the submit's own response inserts the new card at the top of
// the job list, and the project's socket pushes every card of the project, which replaces
// the card with the same id. Keep exactly one card per job, whichever comes first.

// A pushed card with no card to replace (a job another member or the API started, or the
// socket beating the submit's response) goes to the top of the job list.
document.addEventListener("htmx:oobErrorNoTarget", (event) => {
  const card = event.detail.content;
  if (card && card.getAttribute("hx-swap-oob") === "delete") return; // Already gone here.
  const jobs = document.getElementById("jobs");
  if (jobs && card && card.id && card.id.startsWith("generation-")) {
    jobs.prepend(card);
    htmx.process(card);
    groupVariant(card);
  } else if (jobs && card && card.id && card.id.startsWith("progress-")) {
    fetchMissingCard(jobs, card.dataset.card);
  }
});

// Steps push only a progress row; a page that lacks the job's card (it connected after the
// job started) fetches the card once, and later rows land in it.
const fetchedCards = new Set();
function fetchMissingCard(jobs, url) {
  if (!url || fetchedCards.has(url)) return;
  fetchedCards.add(url);
  htmx.ajax("GET", url, { target: jobs, swap: "afterbegin" }).then(() => {
    const card = jobs.firstElementChild;
    if (card && card.id && card.id.startsWith("generation-")) groupVariant(card);
  });
}

// Variants of one submit (a teammate's, or the API's) arrive over the socket one card at a
// time: gather them side by side, in the order the page shows after a reload.
function groupVariant(card) {
  const key = card.dataset.variantGroup;
  const jobs = document.getElementById("jobs");
  if (!key || !jobs || card.parentElement !== jobs) return;
  let group = jobs.querySelector(`:scope > .variants[data-variant-group="${key}"]`);
  if (!group) {
    const mate = [...jobs.querySelectorAll(`:scope > [data-variant-group="${key}"]`)]
      .find((other) => other !== card);
    if (!mate) return; // The first of its group: it waits for the next.
    group = document.createElement("div");
    group.className = "variants";
    group.dataset.variantGroup = key;
    group.setAttribute("role", "group");
    mate.before(group);
    group.append(mate);
  }
  group.append(card);
  const order = (el) => [parseFloat(el.dataset.queued) || 0, el.id];
  const cards = [...group.children].sort((a, b) => {
    const [qa, ia] = order(a), [qb, ib] = order(b);
    return qa - qb || (ia < ib ? -1 : ia > ib ? 1 : 0);
  });
  group.append(...cards);
  const n = cards.length;
  group.className = `variants variants-${n}`;
  group.setAttribute("aria-label", `${n} variant${n > 1 ? "s" : ""}`);
}

// The submit's response inserting cards the socket already put there: keep the socket's
// (newer) card, moved into the submit's group of variants.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const detail = event.detail;
  if (detail.target.id !== "jobs" || !detail.fragment) return;
  detail.fragment.querySelectorAll("[id^='generation-']").forEach((card) => {
    const existing = document.getElementById(card.id);
    if (!existing) return;
    const group = existing.parentElement;
    card.replaceWith(existing);
    // A group the socket began for these cards gives way to the submit's.
    if (group && group.classList.contains("variants") && !group.children.length) group.remove();
  });
});

// --- The prompt builder ----------------------------------------------------------------
// The server assembles the prompt and checks it (the builder-preview partial); this script
// only copies the assembled text into the prompt while the user has not edited it by hand,
// and fills controls from the presets' data (platforms, moods, camera phrases, engine limits).

const ANATOMY = ["subject", "action", "environment", "lighting", "camera", "style", "quality"];

function builderData() {
  const node = document.getElementById("builder-data");
  return node ? JSON.parse(node.textContent) : null;
}

function promptForm() {
  return document.getElementById("prompt-form");
}

function setValue(form, name, value) {
  const input = form.elements[name];
  if (input && value !== undefined && value !== null) input.value = value;
}

// Bound the number inputs by the selected engine and show only the controls it has.
function applyEngine(form) {
  const data = builderData();
  if (!data || !form.elements.engine) return;
  const limits = data.engines[form.elements.engine.value];
  if (!limits) return;
  const fps = parseInt(form.elements.fps.value, 10) || limits.min_fps;
  const attrs = {
    resolution: [limits.min_size, limits.max_size],
    fps: [limits.min_fps, limits.max_fps],
    steps: [1, limits.max_steps],
    // Chaining engines go to max_seconds whatever the fps; others stop at one pass.
    duration_s: [0.05, Math.max(limits.max_seconds, Math.round((limits.max_frames / fps) * 100) / 100)],
  };
  const platform = form.elements.platform && limits.platforms[form.elements.platform.value];
  if (platform) attrs.duration_s[1] = Math.min(attrs.duration_s[1], platform.max_seconds);
  for (const [name, [lo, hi]] of Object.entries(attrs)) {
    const input = form.elements[name];
    if (input) { input.min = lo; input.max = hi; }
  }
  form.elements.resolution.step = limits.size_multiple;
  // Each is the engine's default where it has the control, null where it does not.
  for (const name of ["guidance", "motion_amount"]) {
    const visible = limits[name] !== null && limits[name] !== undefined;
    const wrap = document.getElementById("field-" + name);
    if (wrap) wrap.hidden = !visible;
    if (visible && form.elements[name]) form.elements[name].placeholder = String(limits[name]);
  }
}

function applyPlatform(form) {
  const data = builderData();
  const notes = document.getElementById("platform-notes");
  const id = form.elements.platform.value;
  const limits = data && data.engines[form.elements.engine.value];
  const settings = limits && limits.platforms[id];
  if (notes) notes.textContent = settings ? settings.notes.join(" ") : "";
  if (!settings) return;
  setValue(form, "aspect_ratio", settings.aspect_ratio);
  setValue(form, "resolution", settings.resolution);
  setValue(form, "fps", settings.fps);
  const duration = parseFloat(form.elements.duration_s.value) || 0;
  if (duration > settings.max_seconds) setValue(form, "duration_s", settings.max_seconds);
}

function applyMood(form) {
  const data = builderData();
  const mood = data && data.moods[form.elements.mood.value];
  if (!mood) return;
  setValue(form, "style", mood.style_words);
  setValue(form, "lighting", mood.lighting);
  setValue(form, "camera_motion", mood.camera_motion);
  if (mood.style_preset) setValue(form, "style_preset", mood.style_preset);
  insertCameraPhrase(form);
  form.querySelector("details.builder").open = true;
}

// A camera preset puts its phrase in the Camera part, unless the user wrote their own.
function insertCameraPhrase(form) {
  const data = builderData();
  const camera = form.elements.camera;
  if (!data || !camera) return;
  const phrases = Object.values(data.cameras);
  if (camera.value && !phrases.includes(camera.value)) return;
  const phrase = data.cameras[form.elements.camera_motion.value] || "";
  camera.value = form.elements.camera_motion.value === "static" && !camera.value ? "" : phrase;
}

// Selects fire "input" before "change", and the live preview goes out on "change": apply
// the presets here so the preview sees the values they set.
document.addEventListener("input", (event) => {
  const form = event.target.form;
  if (!form || form.id !== "prompt-form") return;
  let name = event.target.name;
  if (name === "text") form.elements.text.dataset.edited = "1";
  if (name === "engine") applyEngine(form);
  if (name === "platform") { applyPlatform(form); applyEngine(form); }
  if (name === "fps") applyEngine(form);
  if (name === "mood") { applyMood(form); name = "camera"; }
  if (name === "camera_motion") { insertCameraPhrase(form); name = "camera"; }
  // Edited by hand, the prompt stays as written; the preview offers the assembled one.
  const source = ANATOMY.includes(name) && form.elements.text.dataset.edited ? "text" : name;
  if (form.elements.builder_source) form.elements.builder_source.value = source;
});

// The preview came back: an assembled prompt replaces the text unless it was edited by hand.
document.addEventListener("htmx:afterSwap", (event) => {
  const preview = document.getElementById("builder-preview");
  const form = promptForm();
  const from = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!preview || !form || !from || !from.classList.contains("builder-live")) return;
  const source = form.elements.builder_source.value;
  const text = form.elements.text;
  if (ANATOMY.includes(source) && preview.dataset.assembled && !text.dataset.edited) {
    text.value = preview.dataset.assembled;
  }
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='use-assembled']");
  if (!button) return;
  const form = promptForm();
  const preview = document.getElementById("builder-preview");
  form.elements.text.value = preview.dataset.assembled;
  delete form.elements.text.dataset.edited;
  form.elements.builder_source.value = "subject";
  htmx.trigger(form.querySelector(".builder-live"), "change");
});

// Ctrl+Enter (Cmd+Enter on a Mac) generates from anywhere in the form.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const form = event.target.form || promptForm();
  if (form && form.id === "prompt-form") {
    event.preventDefault();
    form.requestSubmit();
  }
});

function initBuilder() {
  const form = promptForm();
  if (form) applyEngine(form);
}
document.addEventListener("DOMContentLoaded", initBuilder);
document.addEventListener("htmx:load", (event) => {
  if (event.detail.elt && event.detail.elt.id === "prompt-form") initBuilder();
});

// --- A/B comparison: B is drawn over A, clipped at the slider --------------------------
document.addEventListener("input", (event) => {
  if (!event.target.matches("[data-compare-split]")) return;
  const b = document.querySelector(".compare-b");
  if (b) b.style.clipPath = `inset(0 0 0 ${event.target.value}%)`;
});
// The frame's shape comes from a data attribute: the CSP allows no inline style attributes.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-compare][data-aspect]").forEach((box) => {
    box.style.aspectRatio = box.dataset.aspect;
  });
});
document.addEventListener("click", (event) => {
  if (!event.target.matches("[data-compare-play]")) return;
  const videos = document.querySelectorAll("[data-compare] video");
  videos.forEach((v) => { v.currentTime = 0; v.play(); });
});

// --- Small page helpers ------------------------------------------------------------------

// Copy buttons (the new API key) and confirmation before destructive plain forms.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  const status = button.parentElement.querySelector("[data-copy-status]");
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    if (status) status.textContent = "Copied.";
  } catch (e) {
    window.getSelection().selectAllChildren(source);
    if (status) status.textContent = "Selected: press Ctrl+C to copy.";
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// "Use these settings" on the project page fills the form in place; elsewhere it is a link.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.use-settings");
  const form = promptForm();
  if (!link || !form) return;
  event.preventDefault();
  htmx.ajax("GET", link.dataset.formUrl, { target: "#prompt-form", swap: "outerHTML" }).then(() => {
    const fresh = promptForm();
    if (fresh) { fresh.scrollIntoView({ block: "start", behavior: "smooth" }); fresh.elements.text.focus(); }
  });
});

// After Generate: bring the new cards into view (on a phone they are below the form).
document.addEventListener("htmx:afterSettle", (event) => {
  const config = event.detail.requestConfig;
  if (!config || !config.elt || config.elt.id !== "prompt-form" || config.verb !== "post") return;
  const group = document.querySelector("#jobs .variants");
  if (!group) return;
  const box = group.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight - 80) {
    group.scrollIntoView({ block: "start", behavior: "smooth" });
  }
  announce(`${group.children.length} job${group.children.length > 1 ? "s" : ""} started.`);
});

// Progress in the tab title and the live region; an optional notification when a job ends.
const baseTitle = document.title;
const seenStatus = new Map();

function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}

function trackJobs() {
  const cards = document.querySelectorAll("#jobs [id^='generation-']");
  let running = 0, done = 0, total = 0;
  cards.forEach((card) => {
    const status = card.dataset.status;
    const before = seenStatus.get(card.id);
    if (before && before !== status && ["succeeded", "failed", "cancelled"].includes(status)) {
      const text = status === "succeeded" ? "Your clip is ready." : `A job ${status}.`;
      announce(text);
      if (window.Notification && Notification.permission === "granted" && document.hidden) {
        new Notification("Studio", { body: text, icon: "/static/favicon.svg" });
      }
    }
    seenStatus.set(card.id, status);
    const bar = card.querySelector("progress");
    if (status === "running" || status === "queued") {
      running += 1;
      if (bar) { done += Number(bar.value) || 0; total += Number(bar.max) || 1; }
    }
  });
  if (running) {
    const pct = total ? Math.floor((100 * done) / total) : 0;
    document.title = `(${pct}%) ${running} running · ${baseTitle}`;
  } else {
    document.title = baseTitle;
  }
}
document.addEventListener("htmx:afterSettle", trackJobs);
document.addEventListener("htmx:oobAfterSwap", trackJobs);
document.addEventListener("htmx:wsAfterMessage", trackJobs);
document.addEventListener("DOMContentLoaded", trackJobs);

document.addEventListener("change", (event) => {
  if (event.target.id === "notify-toggle" && event.target.checked && window.Notification) {
    Notification.requestPermission().then((p) => { if (p !== "granted") event.target.checked = false; });
  }
});

document.addEventListener("click", (event) => {
  if (!event.target.matches("[data-action='clear-image-clip']")) return;
  const form = promptForm();
  form.elements.image_clip.value = "";
  document.getElementById("image-from-clip").remove();
});

// --- Make more from a clip: only the chosen action's fields, only its valid factors -------
function applyDeriveMode(form) {
  const mode = form.elements.mode && form.elements.mode.value;
  if (!mode) return;
  form.parentElement.querySelectorAll("[data-modes]").forEach((el) => {
    el.hidden = !el.dataset.modes.split(" ").includes(mode);
  });
  let factors = {};
  try { factors = JSON.parse(form.dataset.factors || "{}"); } catch (e) { factors = {}; }
  const allowed = factors[mode];
  const scale = form.elements.scale;
  if (!scale || !allowed) return;
  Array.from(scale.options).forEach((opt) => {
    opt.disabled = !allowed.includes(Number(opt.value));
  });
  if (scale.selectedOptions[0] && scale.selectedOptions[0].disabled) {
    const first = Array.from(scale.options).find((o) => !o.disabled);
    if (first) scale.value = first.value;
  }
}
document.addEventListener("change", (event) => {
  const form = event.target.form;
  if (form && form.id === "derive-form" && event.target.name === "mode") applyDeriveMode(form);
});
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("derive-form");
  if (form) applyDeriveMode(form);
});

// --- Hover a gallery card to scrub through its frames (the clip's 4×4 spritesheet) -------
document.addEventListener("pointermove", (event) => {
  if (event.pointerType !== "mouse") return;
  const media = event.target.closest && event.target.closest(".clips .clip .media");
  document.querySelectorAll(".scrub:not([hidden])").forEach((s) => {
    if (!media || !media.contains(s)) s.hidden = true;
  });
  if (!media) return;
  const figure = media.closest(".clip");
  const video = media.querySelector("video");
  const scrub = media.querySelector(".scrub");
  // Gallery cards show a thumbnail; a card that plays video scrubs only while it is stopped.
  if (!scrub || (video && (!video.paused || video.currentTime > 0))) return;
  const frames = Number(figure.dataset.frames) || 1;
  const tiles = Math.max(1, Math.min(16, frames));
  const cols = Math.min(4, tiles);
  const rows = Math.ceil(tiles / cols);
  if (!scrub.style.backgroundImage) {
    scrub.style.backgroundImage = `url("${figure.dataset.sprites}")`;
    scrub.style.backgroundSize = `${cols * 100}% ${rows * 100}%`;
  }
  const box = media.getBoundingClientRect();
  const x = Math.min(0.999, Math.max(0, (event.clientX - box.left) / box.width));
  const k = Math.floor(x * tiles);
  const col = k % cols;
  const row = Math.floor(k / cols);
  const px = cols > 1 ? (col * 100) / (cols - 1) : 0;
  const py = rows > 1 ? (row * 100) / (rows - 1) : 0;
  scrub.style.backgroundPosition = `${px}% ${py}%`;
  scrub.hidden = false;
});
