/* global Chart, document */
// Draws the report's two charts from the JSON embedded in the page. Runs in the browser, inlined by
// reports/html.ts after Chart.js's UMD build; every text it shows goes through Chart.js's canvas text.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const report = data.report;
  const trend = data.trend;

  // Static output: a report is read, printed and screenshotted, never watched.
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#334155';

  function fmt(ms) {
    if (ms === null || ms === undefined) return '–';
    if (ms === 0) return '0';
    const neg = ms < 0 ? '-' : '';
    ms = Math.abs(ms);
    if (ms < 60000) return neg + (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + 's';
    const s = Math.round(ms / 1000);
    if (s < 3600) return neg + Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    return neg + Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
  }

  /** A tick interval in seconds a reader can add up: 1 s, 5 s, ... 10 min, 30 min, 1 h. */
  function niceStep(seconds) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    return steps.find((s) => s >= seconds) || Math.ceil(seconds / 3600) * 3600;
  }

  // Vertical reference lines (RTO reached, RTO objective) on the timeline's time axis.
  const markers = {
    id: 'markers',
    afterDatasetsDraw(chart, _args, opts) {
      const { ctx, chartArea, scales } = chart;
      for (const m of opts.lines || []) {
        const x = scales.x.getPixelForValue(m.value);
        if (x < chartArea.left || x > chartArea.right) continue;
        ctx.save();
        ctx.strokeStyle = m.color;
        ctx.lineWidth = 1.5;
        ctx.setLineDash(m.dash || []);
        ctx.beginPath();
        ctx.moveTo(x, chartArea.top);
        ctx.lineTo(x, chartArea.bottom);
        ctx.stroke();
        ctx.fillStyle = m.color;
        ctx.font = '11px ' + Chart.defaults.font.family;
        ctx.textAlign = x > chartArea.right - 120 ? 'right' : 'left';
        ctx.fillText(m.label, x + (ctx.textAlign === 'right' ? -4 : 4), chartArea.top + 10 + (m.row || 0) * 13);
        ctx.restore();
      }
    },
  };

  const CATEGORIES = [
    { key: 'failover', label: 'failover step', color: '#3b82f6' },
    { key: 'failback', label: 'failback step', color: '#14b8a6' },
    { key: 'promote', label: 'promotion step', color: '#6366f1' },
    { key: 'parallel', label: 'parallel group', color: '#a855f7' },
    { key: 'gate', label: 'approval gate (human wait)', color: '#f59e0b' },
    { key: 'failed', label: 'failed step', color: '#ef4444' },
  ];

  function category(s) {
    if (s.status === 'failed') return 'failed';
    if (s.gate) return 'gate';
    if (s.group) return 'parallel';
    return s.run;
  }

  function timeline() {
    const steps = report.steps.filter((s) => s.offsetMs !== undefined && s.durationMs !== undefined);
    const labels = steps.map((s) => s.run + ' · ' + s.id);
    const datasets = CATEGORIES.filter((c) => steps.some((s) => category(s) === c.key)).map((c) => ({
      label: c.label,
      data: steps.map((s) => (category(s) === c.key ? [s.offsetMs / 1000, (s.offsetMs + s.durationMs) / 1000] : null)),
      backgroundColor: c.color,
      // Steps on the critical path get a dark outline.
      borderColor: steps.map((s) => (s.critical ? '#0f172a' : 'rgba(0,0,0,0)')),
      borderWidth: 1.5,
      borderSkipped: false,
      grouped: false,
      minBarLength: 3,
      barPercentage: 0.8,
      categoryPercentage: 0.9,
    }));

    const lines = [];
    const measured = report.runs[0];
    if (measured) {
      const base = (measured.startedAt - report.startedAt) / 1000;
      if (report.rto.ms !== undefined) lines.push({ value: base + report.rto.ms / 1000, color: '#16a34a', label: 'RTO ' + fmt(report.rto.ms), row: 0 });
      lines.push({ value: base + report.objectives.rtoMs / 1000, color: '#dc2626', dash: [6, 4], label: 'objective ' + fmt(report.objectives.rtoMs), row: 1 });
    }
    const lastEnd = Math.max(0, ...steps.map((s) => (s.offsetMs + s.durationMs) / 1000));

    return new Chart(document.getElementById('timeline-chart'), {
      type: 'bar',
      data: { labels, datasets },
      plugins: [markers],
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: {
            type: 'linear',
            min: 0,
            suggestedMax: lastEnd,
            title: { display: true, text: 'time since the trigger' },
            ticks: { stepSize: niceStep(lastEnd / 10), callback: (v) => fmt(v * 1000) },
          },
          y: { ticks: { autoSkip: false, font: { size: 11 } } },
        },
        plugins: {
          markers: { lines },
          legend: {
            position: 'top',
            // The legend draws each category's swatch from its first bar; the critical-path outline is not a category.
            labels: { generateLabels: (chart) => Chart.defaults.plugins.legend.labels.generateLabels(chart).map((l) => Object.assign(l, { lineWidth: 0 })) },
          },
          tooltip: {
            callbacks: {
              title: (items) => steps[items[0].dataIndex].title,
              label: (item) => {
                const s = steps[item.dataIndex];
                return '+' + fmt(s.offsetMs) + ' for ' + fmt(s.durationMs) + ' (' + s.status + (s.critical ? ', critical path' : '') + ')';
              },
            },
          },
        },
      },
    });
  }

  function trendChart() {
    const points = trend.slice().sort((a, b) => a.startedAt - b.startedAt);
    const highest = Math.max(report.objectives.rtoMs, ...points.map((p) => p.rtoMs || 0)) / 1000;
    const labels = points.map((p) => new Date(p.startedAt).toISOString().slice(0, 16).replace('T', ' ') + (p.passed ? '' : ' ✗'));
    return new Chart(document.getElementById('trend-chart'), {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            type: 'bar',
            label: 'RTO (green: passed, red: failed)',
            data: points.map((p) => (p.rtoMs === undefined ? null : p.rtoMs / 1000)),
            backgroundColor: points.map((p) => (p.passed ? '#22c55e' : '#ef4444')),
            order: 2,
          },
          {
            type: 'line',
            label: 'RTO objective ' + fmt(report.objectives.rtoMs),
            data: points.map(() => report.objectives.rtoMs / 1000),
            borderColor: '#dc2626',
            borderDash: [6, 4],
            borderWidth: 2,
            pointRadius: 0,
            fill: false,
            order: 1,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          y: { beginAtZero: true, title: { display: true, text: 'RTO' }, ticks: { stepSize: niceStep(highest / 6), callback: (v) => fmt(v * 1000) } },
          x: { title: { display: true, text: 'drill started (UTC)' } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const p = points[item.dataIndex];
                if (item.datasetIndex === 1) return 'objective ' + fmt(report.objectives.rtoMs);
                return p.workflowId + ': ' + (p.rtoMs === undefined ? 'no RTO' : fmt(p.rtoMs)) + ', ' + (p.passed ? 'passed' : 'failed (' + p.phase + ')');
              },
            },
          },
        },
      },
    });
  }

  timeline();
  trendChart();
})();
