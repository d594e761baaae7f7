/* Hourglass dashboard charts: live loss curves (Server-Sent Events), the latent scatter, the
 * score histogram with its threshold, the explain bars. Loaded from /ui/static; the page holds
 * no script of its own (CSP default-src 'self'). Charts are built from data-* attributes. */
"use strict";
(function () {
  const MAX_POINTS = 500; // per series: a 5,000-epoch run is drawn from at most this many
  const COLORS = { train: "#2563eb", val: "#ea580c", best: "#16a34a", threshold: "#dc2626" };
  const live = (window.hourglass = { epochs: [], drawn: {}, ended: null });

  // Keeps the first and last points and, per bucket, its lowest and highest: minima (the best
  // epoch) and spikes stay visible however many epochs there are.
  function downsample(points, max) {
    if (points.length <= max) return points.slice();
    const buckets = Math.floor((max - 2) / 2);
    const size = (points.length - 2) / buckets;
    const out = [points[0]];
    for (let b = 0; b < buckets; b++) {
      let lo = null, hi = null;
      for (let i = 1 + Math.floor(b * size); i < 1 + Math.floor((b + 1) * size); i++) {
        const p = points[i];
        if (p.y === null) continue;
        if (lo === null || p.y < lo.y) lo = p;
        if (hi === null || p.y > hi.y) hi = p;
      }
      if (lo === null) continue;
      if (lo === hi) out.push(lo);
      else if (lo.x < hi.x) out.push(lo, hi);
      else out.push(hi, lo);
    }
    out.push(points[points.length - 1]);
    return out;
  }

  function axes(x, y) {
    return { x: { type: "linear", title: { display: true, text: x } },
             y: { type: "linear", title: { display: true, text: y } } };
  }

  function lossChart(canvas) {
    const chart = new Chart(canvas, {
      type: "line",
      data: { datasets: [
        { label: "train loss", data: [], borderColor: COLORS.train, pointRadius: 0, borderWidth: 1.5 },
        { label: "validation loss", data: [], borderColor: COLORS.val, pointRadius: 0, borderWidth: 1.5 },
        { label: "best epoch", data: [], type: "scatter", borderColor: COLORS.best,
          backgroundColor: COLORS.best, pointRadius: 6, pointStyle: "rectRot" },
      ] },
      options: { animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
                 scales: axes("epoch", "loss") },
    });
    let pending = [];
    let scheduled = false;
    function draw() {
      scheduled = false;
      const train = live.epochs.map((e) => ({ x: e.epoch, y: e.train_loss }));
      const val = live.epochs.filter((e) => e.val_loss !== null).map((e) => ({ x: e.epoch, y: e.val_loss }));
      chart.data.datasets[0].data = downsample(train, MAX_POINTS);
      chart.data.datasets[1].data = downsample(val, MAX_POINTS);
      chart.data.datasets[2].data = bestPoint(canvas, val.length ? val : train);
      chart.update("none");
      const now = Date.now();
      for (const epoch of pending) live.drawn[epoch] = now;
      pending = [];
      canvas.dataset.epochs = String(live.epochs.length);
    }
    function later() {
      if (!scheduled) { scheduled = true; setTimeout(draw, 50); }
    }
    const source = new EventSource(canvas.dataset.stream);
    source.addEventListener("epoch", (message) => {
      const epoch = JSON.parse(message.data);
      live.epochs.push(epoch);
      pending.push(epoch.epoch);
      later();
    });
    source.addEventListener("restart", () => { live.epochs = []; later(); });
    source.addEventListener("end", (message) => {
      source.close();
      live.ended = JSON.parse(message.data).status;
      const badge = document.getElementById("run-status");
      if (badge) { badge.textContent = live.ended; badge.className = "badge " + live.ended; }
      const cancel = document.getElementById("cancel");
      if (cancel) cancel.remove();
      canvas.dataset.ended = live.ended;
      later();
    });
  }

  function bestPoint(canvas, series) {
    if (!series.length) return [];
    const stored = Number(canvas.dataset.bestEpoch || 0);
    const found = stored ? series.find((p) => p.x === stored) : null;
    const best = found || series.reduce((a, b) => (b.y < a.y ? b : a));
    return [{ x: best.x, y: best.y }];
  }

  // low scores blue, high ones red, on the square root of the score's place between the
  // smallest and largest (scores are skewed: most rows score low)
  function scoreColor(score, low, high) {
    const t = high > low ? Math.sqrt((score - low) / (high - low)) : 0;
    const mix = (a, b) => Math.round(a + t * (b - a));
    return `rgb(${mix(37, 220)}, ${mix(99, 38)}, ${mix(235, 38)})`;
  }

  async function latentChart(canvas) {
    const response = await fetch(canvas.dataset.src, { headers: { Accept: "application/json" } });
    const data = await response.json();
    const low = Math.min(...data.scores), high = Math.max(...data.scores);
    const points = data.x.map((x, i) => ({ x, y: data.y[i] }));
    const names = data.method === "pca"
      ? data.explained_variance.map((s, i) => `PC${i + 1} (${(100 * s).toFixed(1)} % of variance)`)
      : ["code unit 1", "code unit 2"];
    new Chart(canvas, {
      type: "scatter",
      data: { datasets: [{
        label: `${points.length} calibration rows`,
        data: points,
        pointBackgroundColor: data.scores.map((s) => scoreColor(s, low, high)),
        pointBorderColor: data.is_anomaly.map((f) => (f ? "#111827" : "rgba(0, 0, 0, 0)")),
        pointBorderWidth: data.is_anomaly.map((f) => (f ? 2 : 0)),
        pointRadius: data.is_anomaly.map((f) => (f ? 5 : 3)),
      }] },
      options: { animation: false, parsing: false, maintainAspectRatio: false,
                 plugins: { legend: { display: false } }, scales: axes(names[0], names[1]) },
    });
    canvas.dataset.points = String(points.length);
  }

  function histogramChart(canvas) {
    const edges = JSON.parse(canvas.dataset.edges), counts = JSON.parse(canvas.dataset.counts);
    const bars = counts.map((c, i) => ({ x: (edges[i] + edges[i + 1]) / 2, y: c }));
    const datasets = [{ label: "calibration rows", data: bars, type: "bar", backgroundColor: "#93c5fd",
                        barPercentage: 1, categoryPercentage: 1 }];
    if (canvas.dataset.threshold !== "") {
      const threshold = Number(canvas.dataset.threshold);
      const top = Math.max(1, ...counts);
      datasets.push({ label: `threshold at alpha ${canvas.dataset.alpha}`, type: "line",
                      data: [{ x: threshold, y: 0 }, { x: threshold, y: top }],
                      borderColor: COLORS.threshold, borderWidth: 2, pointRadius: 0 });
    }
    new Chart(canvas, {
      type: "bar",
      data: { datasets },
      options: { animation: false, parsing: false, maintainAspectRatio: false,
                 scales: axes("anomaly score", "rows") },
    });
  }

  function explainChart(canvas) {
    const features = JSON.parse(canvas.dataset.features), errors = JSON.parse(canvas.dataset.errors);
    new Chart(canvas, {
      type: "bar",
      data: { labels: features, datasets: [{
        label: "signed error (input − reconstruction, scaled units)",
        data: errors,
        backgroundColor: errors.map((e) => (e >= 0 ? "#f97316" : "#3b82f6")),
      }] },
      options: { indexAxis: "y", animation: false, maintainAspectRatio: false },
    });
  }

  const BUILDERS = { loss: lossChart, latent: latentChart, histogram: histogramChart, explain: explainChart };

  function start(root) {
    for (const canvas of root.querySelectorAll("canvas[data-chart]")) {
      if (canvas.dataset.ready) continue;
      canvas.dataset.ready = "yes";
      BUILDERS[canvas.dataset.chart](canvas);
    }
  }

  document.addEventListener("DOMContentLoaded", () => start(document));
  document.addEventListener("htmx:load", (event) => start(event.target));
})();
