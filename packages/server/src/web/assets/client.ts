/**
 * The dashboard's only script of our own, served from /static/app.js. Everything works without
 * it; it adds copy buttons, select-all, auto-applying filters, local times and the uPlot chart.
 * It is an external file so the Content-Security-Policy can forbid inline scripts entirely.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  function each(root, selector, fn) {
    var list = root.querySelectorAll(selector);
    for (var i = 0; i < list.length; i++) if (!list[i].__bp) { list[i].__bp = true; fn(list[i]); }
  }

  function copyButtons(root) {
    each(root, '[data-copy]', function (btn) {
      btn.addEventListener('click', function () {
        var text = btn.getAttribute('data-copy');
        var done = function () { var old = btn.textContent; btn.textContent = 'Copied'; setTimeout(function () { btn.textContent = old; }, 1200); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done);
        else { var t = document.createElement('textarea'); t.value = text; document.body.appendChild(t); t.select(); document.execCommand('copy'); t.remove(); done(); }
      });
    });
  }

  // Removing a user or revoking a token asks first (without the script, the form just posts).
  function confirmForms(root) {
    each(root, 'form[data-confirm]', function (form) {
      form.addEventListener('submit', function (e) { if (!window.confirm(form.getAttribute('data-confirm'))) e.preventDefault(); });
    });
  }

  function bulkSelection(root) {
    each(root, 'form[data-bulk]', function (form) {
      var all = form.querySelector('input[data-select-all]');
      var counter = form.querySelector('[data-selected-count]');
      var buttons = form.querySelectorAll('button[data-needs-selection]');
      function boxes() { return form.querySelectorAll('input[name="ids"]'); }
      function refresh() {
        var n = 0, b = boxes();
        for (var i = 0; i < b.length; i++) if (b[i].checked) n++;
        if (counter) counter.textContent = n ? n + ' selected' : '';
        for (var j = 0; j < buttons.length; j++) buttons[j].disabled = n === 0;
        if (all) all.checked = n > 0 && n === b.length;
      }
      if (all) all.addEventListener('change', function () { var b = boxes(); for (var i = 0; i < b.length; i++) b[i].checked = all.checked; refresh(); });
      form.addEventListener('change', function (e) { if (e.target.name === 'ids') refresh(); });
      refresh();
    });
  }

  function autoSubmit(root) {
    each(root, 'select[data-autosubmit]', function (select) {
      select.addEventListener('change', function () { if (select.form.requestSubmit) select.form.requestSubmit(); else select.form.submit(); });
    });
  }

  // Times are rendered in UTC on the server (it cannot know the viewer's zone); here they are shown
  // in the browser's time zone, with the UTC value on hover.
  var localFormat = (function () {
    try {
      return new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });
    } catch (e) { return null; }
  })();
  function localText(d) {
    if (!localFormat) return d.toLocaleString();
    var p = {};
    localFormat.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + (p.timeZoneName ? ' ' + p.timeZoneName : '');
  }
  function pad2(n) { return String(n).padStart(2, '0'); }
  function localSeconds(d) {
    return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' + pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }
  function localInputValue(d) {
    return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + 'T' + pad2(d.getHours()) + ':' + pad2(d.getMinutes());
  }
  function utcText(d) { return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC'; }
  function localTimes(root) {
    each(root, 'time[data-abs]', function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (!isNaN(d)) el.title = localText(d) + ' (' + utcText(d) + ')';
    });
    each(root, 'time[data-local]', function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (isNaN(d)) return;
      if (el.getAttribute('data-local') === 'seconds') {
        // A log line's time: the local date and time to the second, the UTC value on hover.
        el.textContent = localSeconds(d);
        el.title = d.toISOString().replace('T', ' ').slice(0, 23) + ' UTC';
        return;
      }
      if (el.getAttribute('data-local') === 'clock') {
        // A breadcrumb's time of day, to the millisecond: the local clock, the full UTC time on hover.
        var pad = function (n, w) { return String(n).padStart(w || 2, '0'); };
        el.textContent = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
        return;
      }
      el.textContent = localText(d);
      el.title = utcText(d);
    });
  }

  // The Logs page's time range is typed in the viewer's zone: shown local, sent as UTC (ISO), and
  // empty fields stay out of the URL.
  function logFilters(root) {
    each(root, 'form[data-log-filters]', function (form) {
      var inputs = form.querySelectorAll('input[type="datetime-local"]');
      for (var i = 0; i < inputs.length; i++) {
        var utc = inputs[i].getAttribute('data-utc');
        if (utc) { var d = new Date(utc); if (!isNaN(d)) inputs[i].value = localInputValue(d); }
      }
      var typedAt = {};
      for (var j = 0; j < inputs.length; j++) inputs[j].addEventListener('input', function (e) { typedAt[e.target.name] = true; });
      form.addEventListener('submit', function () {
        for (var k = 0; k < inputs.length; k++) {
          var input = inputs[k];
          if (typedAt[input.name]) { var range = form.querySelector('input[name="range"]'); if (range) range.disabled = true; }
          if (!input.value) { input.disabled = true; continue; }
          var local = new Date(input.value);
          if (isNaN(local)) continue;
          var hidden = document.createElement('input');
          hidden.type = 'hidden'; hidden.name = input.name; hidden.value = local.toISOString();
          input.disabled = true; form.appendChild(hidden);
        }
        var fields = form.querySelectorAll('input[type="search"], input[type="text"], select');
        for (var m = 0; m < fields.length; m++) if (!fields[m].value) fields[m].disabled = true;
      });
    });
  }

  // Live follow on the Logs page: polls /logs/follow with the newest id shown, puts new rows on
  // top, keeps at most data-max rows, and stops while the tab is hidden or the person pauses.
  function follow(root) {
    each(root, '[data-follow]', function (bar) {
      var url = bar.getAttribute('data-follow');
      var after = bar.getAttribute('data-after') || '0';
      var max = Number(bar.getAttribute('data-max')) || 500;
      var rows = document.querySelector('[data-follow-rows]');
      var toggle = bar.querySelector('[data-follow-toggle]');
      var status = bar.querySelector('[data-follow-status]');
      if (!rows || !toggle) return;
      var on = true, timer = null, busy = false;
      function schedule(ms) { clearTimeout(timer); if (on && !document.hidden) timer = setTimeout(poll, ms); }
      function poll() {
        if (busy || !on || document.hidden) return;
        busy = true;
        fetch(url + (url.indexOf('?') < 0 ? '?' : '&') + 'after=' + encodeURIComponent(after), { headers: { accept: 'application/json' }, credentials: 'same-origin' })
          .then(function (r) {
            // An ended session answers with the login page: say so and stop instead of retrying forever.
            if (r.redirected && r.url.indexOf('/login') >= 0) { on = false; throw new Error('the session ended; reload the page to log in again'); }
            if (!r.ok) throw new Error('HTTP ' + r.status);
            return r.json();
          })
          .then(function (data) {
            if (data.count) {
              after = String(data.newest);
              var empty = document.querySelector('[data-follow-empty]'); if (empty) empty.remove();
              var old = rows.querySelectorAll('tr.fresh');
              for (var i = 0; i < old.length; i++) old[i].classList.remove('fresh');
              var holder = document.createElement('tbody');
              holder.innerHTML = data.html;
              var added = holder.querySelectorAll('tr');
              for (var a = 0; a < added.length; a++) added[a].classList.add('fresh');
              if (data.gap) {
                var note = document.createElement('tr'); var cell = document.createElement('td');
                cell.colSpan = 5; cell.className = 'faint'; cell.textContent = 'More lines arrived than one update shows; older ones in between were skipped (reload or page to see them).';
                note.appendChild(cell); holder.appendChild(note);
              }
              while (holder.lastChild) rows.insertBefore(holder.lastChild, rows.firstChild);
              while (rows.children.length > max) rows.removeChild(rows.lastElementChild);
              init(rows);
            }
            if (status) status.textContent = 'Live: checked ' + new Date().toLocaleTimeString() + '.';
            bar.setAttribute('data-after', after);
          })
          .catch(function (e) { if (status) status.textContent = on ? 'Live follow could not reach the server (' + e.message + '); trying again.' : 'Live follow stopped: ' + e.message + '.'; })
          .then(function () { busy = false; schedule(2000); });
      }
      toggle.addEventListener('click', function () {
        on = !on;
        toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
        toggle.textContent = on ? 'Pause live follow' : 'Resume live follow';
        if (status) status.textContent = on ? 'Live: new lines appear at the top.' : 'Paused.';
        if (on) poll(); else clearTimeout(timer);
      });
      document.addEventListener('visibilitychange', function () {
        if (document.hidden) { clearTimeout(timer); if (on && status) status.textContent = 'Paused while the tab is hidden.'; }
        else if (on) poll();
      });
      schedule(2000);
    });
  }

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function charts(root) {
    if (!window.uPlot) return;
    each(root, '[data-chart]', function (box) {
      var source = document.getElementById(box.getAttribute('data-chart'));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var xs = [], ys = [];
      for (var i = 0; i < data.counts.length; i++) { xs.push((data.start + i * data.step) / 1000); ys.push(data.counts[i]); }
      var accent = cssVar('--accent') || '#4f46e5', grid = cssVar('--border') || '#e5e7eb', text = cssVar('--faint') || '#888';
      var axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      function opts(width) {
        return {
          width: width, height: 130, legend: { show: false }, cursor: { points: { show: false }, y: false },
          scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
          axes: [axis, Object.assign({ size: 40, values: function (u, v) { return v.map(function (n) { return n % 1 ? '' : n; }); } }, axis)],
          series: [{}, { label: 'events', fill: accent + 'b3', stroke: accent, width: 0, paths: uPlot.paths.bars({ size: [0.85, 24] }) }]
        };
      }
      box.textContent = '';
      var plot = new uPlot(opts(box.clientWidth || 600), [xs, ys], box);
      var tip = document.createElement('div'); tip.className = 'chart-tip muted'; box.appendChild(tip);
      plot.over.addEventListener('mousemove', function () {
        var idx = plot.cursor.idx; if (idx == null) return;
        tip.textContent = new Date(xs[idx] * 1000).toLocaleString() + ': ' + ys[idx] + ' event' + (ys[idx] === 1 ? '' : 's');
      });
      window.addEventListener('resize', function () { plot.setSize({ width: box.clientWidth, height: 130 }); });
    });
  }

  function latencyCharts(root) {
    if (!window.uPlot) return;
    each(root, '[data-latency]', function (box) {
      var source = document.getElementById(box.getAttribute('data-latency'));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var xs = [], p50 = [], p95 = [], p99 = [];
      for (var i = 0; i < data.points.length; i++) { var p = data.points[i]; xs.push(p[0] / 1000); p50.push(p[1]); p95.push(p[2]); p99.push(p[3]); }
      var grid = cssVar('--border') || '#e5e7eb', text = cssVar('--faint') || '#888';
      var axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      function line(label, color) { return { label: label, stroke: color, width: 1.6, spanGaps: true, value: function (u, v) { return v == null ? '–' : Math.round(v) + ' ms'; } }; }
      function opts(width) {
        return {
          width: width, height: 120, legend: { show: false }, cursor: { points: { size: 5 } },
          scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
          axes: [axis, Object.assign({ size: 60, values: function (u, v) { return v.map(function (n) { return n >= 1000 ? (n / 1000) + ' s' : n + ' ms'; }); } }, axis)],
          series: [{}, line('p50', cssVar('--ok') || '#15803d'), line('p95', cssVar('--warning') || '#d97706'), line('p99', cssVar('--error') || '#dc2626')]
        };
      }
      box.textContent = '';
      var plot = new uPlot(opts(box.clientWidth || 600), [xs, p50, p95, p99], box);
      window.addEventListener('resize', function () { plot.setSize({ width: box.clientWidth, height: 120 }); });
    });
  }

  // Filters left empty stay out of the pushed URL, so it reads like the link that made it.
  document.addEventListener('htmx:configRequest', function (e) {
    var params = e.detail.parameters;
    if (e.detail.verb !== 'get' || !params) return;
    Object.keys(params).forEach(function (key) { if (params[key] === '') delete params[key]; });
  });

  function init(root) { copyButtons(root); confirmForms(root); bulkSelection(root); autoSubmit(root); localTimes(root); logFilters(root); follow(root); charts(root); latencyCharts(root); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { init(document); });
  else init(document);
  document.addEventListener('htmx:load', function (e) { init(e.target); });
})();
`;
