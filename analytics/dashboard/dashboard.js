// Dashboard (the hall screen): fetches /dashboard/data (city-wide aggregates
// only) and draws the charts; refreshes every REFRESH_MS. The page's own
// ?display_token= and ?months= are passed on to the data route (a kiosk
// browser cannot send an Authorization header). When every chart has
// finished drawing, body[data-state] becomes "ready", body[data-fit] holds
// "scrollHeight,innerHeight,scrollWidth,innerWidth" and the title gets
// " · ready", which is what the headless-browser test reads.
(function () {
  'use strict';
  var REFRESH_MS = 30000;
  var charts = {};

  // Chart text scales with the screen like the page's rem (1920x1080 = 1).
  function scale() { return Math.max(0.6, Math.min(window.innerWidth / 1920, window.innerHeight / 1080)); }
  function px(n) { return Math.round(n * scale()); }
  function axis() {
    return { axisLine: { lineStyle: { color: '#4a5d7a' } }, axisLabel: { color: '#8fa3bf', fontSize: px(12) },
             splitLine: { lineStyle: { color: '#22344f' } } };
  }
  function legend() { return { textStyle: { color: '#c5d3e6', fontSize: px(12) }, top: 0, itemWidth: px(25), itemHeight: px(14) }; }
  function tooltip(o) { return Object.assign({ textStyle: { fontSize: px(13) } }, o); }

  function chart(id) {
    if (!charts[id]) { charts[id] = echarts.init(document.getElementById(id), null, { renderer: 'canvas' }); }
    return charts[id];
  }
  function name(cities, code) { return (cities[code] || code || '未知'); }
  function fmtInt(n) { return Number(n).toLocaleString('zh-CN'); }
  function fmtYuan(s) { return Number(s).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }

  // The current month is month to date: its axis label says so and its bars
  // are drawn lighter with a dashed edge, so a low figure does not read as
  // a collapse.
  var PARTIAL = '本月至今';
  function monthLabels(d, rows) {
    return rows.map(function (r) { return r.month === d.partial_month ? r.month + '\n' + PARTIAL : r.month; });
  }
  // (The axis may thin its labels out, so the top bar carries the words too.)
  function partialBar(d, month, value, color, top) {
    if (month !== d.partial_month) { return value; }
    return { value: value, itemStyle: { color: color, opacity: 0.45, borderType: 'dashed', borderColor: '#e6edf7', borderWidth: 1 },
             label: { show: !!top, position: 'top', formatter: PARTIAL, color: '#e6edf7', fontSize: px(12) } };
  }

  // Flow bins: counts span orders of magnitude, so a linear colour scale
  // leaves every small flow the colour of the background. Pieces on a
  // 1-2-5 (or decade) ladder give even a single use a visible colour.
  function flowPieces(max) {
    var ladder = [], b;
    for (b = 1; b <= max; b *= 10) { ladder.push(b, 2 * b, 5 * b); }
    ladder = ladder.filter(function (x) { return x <= max; });
    if (ladder.length > 7) { ladder = ladder.filter(function (x) { return String(x)[0] === '1'; }); }
    var colors = ['#3f6fa3', '#2b9fd9', '#4fc3f7', '#80deea', '#ffd54f', '#ffa726', '#ff7043'];
    return ladder.map(function (lo, i) {
      var hi = ladder[i + 1];
      var p = { gte: lo, color: colors[Math.round(i * (colors.length - 1) / Math.max(1, ladder.length - 1))] };
      if (hi !== undefined) { p.lt = hi; p.label = hi - 1 === lo ? String(lo) : lo + '–' + (hi - 1); } else { p.label = '≥ ' + lo; }
      return p;
    });
  }

  function flowsOption(d) {
    // Heatmap of remote flows between the busiest home cities and cities of use.
    var remote = d.flows.filter(function (f) { return f.home_region !== f.use_region; });
    var homeTotals = {}, useTotals = {};
    remote.forEach(function (f) {
      homeTotals[f.home_region] = (homeTotals[f.home_region] || 0) + f.count;
      useTotals[f.use_region] = (useTotals[f.use_region] || 0) + f.count;
    });
    function top(totals, n) {
      return Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a]; }).slice(0, n);
    }
    var homes = top(homeTotals, 12), uses = top(useTotals, 16);
    var cells = [], max = 1;
    remote.forEach(function (f) {
      var x = uses.indexOf(f.use_region), y = homes.indexOf(f.home_region);
      if (x >= 0 && y >= 0) { cells.push([x, y, f.count]); max = Math.max(max, f.count); }
    });
    return {
      tooltip: tooltip({ formatter: function (p) {
        return name(d.cities, homes[p.value[1]]) + ' → ' + name(d.cities, uses[p.value[0]]) + '<br>' + fmtInt(p.value[2]) + ' 次';
      } }),
      grid: { left: px(90), right: px(20), top: px(10), bottom: px(130) },
      xAxis: { type: 'category', data: uses.map(function (c) { return name(d.cities, c); }),
               axisLabel: { color: '#8fa3bf', rotate: 50, fontSize: px(12) }, axisLine: axis().axisLine },
      yAxis: Object.assign({ type: 'category', data: homes.map(function (c) { return name(d.cities, c); }) }, axis()),
      visualMap: { type: 'piecewise', pieces: flowPieces(max), orient: 'horizontal', left: 'center', bottom: 0,
                   itemWidth: px(20), itemHeight: px(14), textStyle: { color: '#c5d3e6', fontSize: px(12) },
                   outOfRange: { color: '#16243a' } },
      series: [{ type: 'heatmap', data: cells, label: { show: cells.length <= 80, color: '#0f1a2b', fontSize: px(11) },
                 itemStyle: { borderColor: '#16243a', borderWidth: 1 }, animation: false }]
    };
  }

  function spendingOption(d) {
    return {
      tooltip: tooltip({ trigger: 'axis' }), legend: Object.assign({ data: ['本地', '异地'] }, legend()),
      grid: { left: px(80), right: px(20), top: px(34), bottom: px(44) },
      xAxis: Object.assign({ type: 'category', data: monthLabels(d, d.spending) }, axis()),
      yAxis: Object.assign({ type: 'value' }, axis()),
      series: [
        { name: '本地', type: 'bar', stack: 'amount', itemStyle: { color: '#4fc3f7' },
          data: d.spending.map(function (r) { return partialBar(d, r.month, Number(r.local_amount), '#4fc3f7'); }) },
        { name: '异地', type: 'bar', stack: 'amount', itemStyle: { color: '#ff8a65' },
          data: d.spending.map(function (r) { return partialBar(d, r.month, Number(r.remote_amount), '#ff8a65', true); }) }
      ]
    };
  }

  function categoriesOption(d) {
    return {
      tooltip: tooltip({ trigger: 'item', formatter: function (p) { return p.name + '<br>' + fmtYuan(p.value) + ' 元 (' + p.percent + '%)'; } }),
      series: [{ type: 'pie', radius: ['35%', '65%'], center: ['50%', '52%'],
                 label: { color: '#c5d3e6', fontSize: px(12) },
                 data: d.categories.map(function (c) { return { name: d.category_names[c.category] || c.category || '未分类', value: Number(c.amount) }; }) }]
    };
  }

  // Issuance uses a log axis: a mass-issuance month (a card replacement
  // drive) is tens of times an ordinary one, and on a linear axis it flattens
  // every other month and the loss/cancellation lines to the floor. A log
  // axis keeps each month readable and the real number is in the tooltip;
  // clipping would instead hide how big the big month was. Zero has no
  // logarithm, so a zero is drawn as no bar/point.
  function issuanceOption(d) {
    function pos(n) { return n > 0 ? n : null; }
    return {
      tooltip: tooltip({ trigger: 'axis', formatter: function (ps) {
        var r = d.lifecycle[ps[0].dataIndex];
        return r.month + (r.month === d.partial_month ? '（' + PARTIAL + '）' : '') + '<br>发卡 ' + fmtInt(r.issued) +
          '<br>挂失 ' + fmtInt(r.lost + r.temporarily_lost) + '<br>注销 ' + fmtInt(r.cancelled);
      } }),
      legend: Object.assign({ data: ['发卡', '挂失', '注销'] }, legend()),
      grid: { left: px(60), right: px(20), top: px(34), bottom: px(44) },
      xAxis: Object.assign({ type: 'category', data: monthLabels(d, d.lifecycle) }, axis()),
      yAxis: Object.assign({ type: 'log', logBase: 10, min: 1 }, axis()),
      series: [
        { name: '发卡', type: 'bar', itemStyle: { color: '#81c784' },
          data: d.lifecycle.map(function (r) { return partialBar(d, r.month, pos(r.issued), '#81c784', true); }) },
        { name: '挂失', type: 'line', itemStyle: { color: '#ffd54f' },
          data: d.lifecycle.map(function (r) { return pos(r.lost + r.temporarily_lost); }) },
        { name: '注销', type: 'line', itemStyle: { color: '#e57373' },
          data: d.lifecycle.map(function (r) { return pos(r.cancelled); }) }
      ]
    };
  }

  function blacklistOption(d) {
    return {
      tooltip: tooltip({ trigger: 'axis' }),
      grid: { left: px(60), right: px(20), top: px(20), bottom: px(44) },
      xAxis: Object.assign({ type: 'category', data: monthLabels(d, d.lifecycle) }, axis()),
      yAxis: Object.assign({ type: 'value', minInterval: 1 }, axis()),
      series: [{ type: 'line', areaStyle: { opacity: 0.25 }, step: 'end', itemStyle: { color: '#ba68c8' },
                 data: d.lifecycle.map(function (r) { return r.blacklist_size; }) }]
    };
  }

  function kpis(d) {
    var count = 0, remote = 0, amount = 0;
    d.flows.forEach(function (f) {
      count += f.count; amount += Number(f.amount);
      if (f.home_region !== f.use_region) { remote += f.count; }
    });
    document.getElementById('kpi-count').textContent = fmtInt(count);
    document.getElementById('kpi-amount').textContent = fmtYuan(amount);
    document.getElementById('kpi-remote').textContent = count ? (100 * remote / count).toFixed(1) + '%' : '—';
    var last = d.lifecycle[d.lifecycle.length - 1];
    document.getElementById('kpi-blacklist').textContent = last ? fmtInt(last.blacklist_size) : '—';
    document.getElementById('kpi-lag').textContent = d.lag ? (d.lag.caught_up ? '实时' : d.lag.seconds.toFixed(1) + ' 秒') : '—';
    document.getElementById('window').textContent = '近 ' + d.months + ' 个月：' + d.from + ' 至 ' + d.to + '（' + d.partial_month + ' 为' + PARTIAL + '）';
    document.getElementById('updated').textContent = '更新于 ' + new Date().toLocaleTimeString('zh-CN');
    var title = (d.city || '') + '社会保障卡用卡分析';
    document.getElementById('title').textContent = title;
    var ready = document.title.indexOf(' · ready') >= 0;
    document.title = title + ' · cardledger' + (ready ? ' · ready' : '');
  }

  function draw(d) {
    kpis(d);
    var specs = [
      ['chart-flows', flowsOption], ['chart-spending', spendingOption], ['chart-categories', categoriesOption],
      ['chart-issuance', issuanceOption], ['chart-blacklist', blacklistOption]
    ];
    // A chart counts as drawn at its first 'rendered' event after setOption
    // ('finished' waits for animations, which a hidden tab may never run).
    var pending = specs.length;
    specs.forEach(function (s) {
      var c = chart(s[0]), done = false;
      c.off('rendered');
      c.on('rendered', function () {
        if (done) { return; }
        done = true;
        c.getDom().dataset.drawn = 'yes';
        pending -= 1;
        if (pending === 0) { ready(); }
      });
      c.setOption(s[1](d), true);
    });
  }

  function ready() {
    var root = document.documentElement;
    document.body.dataset.fit = [root.scrollHeight, window.innerHeight, root.scrollWidth, window.innerWidth].join(',');
    document.body.dataset.state = 'ready';
    if (document.title.indexOf(' · ready') < 0) { document.title += ' · ready'; }
  }

  // dataURL passes on the page's display token and window.
  function dataURL() {
    var page = new URLSearchParams(window.location.search), q = new URLSearchParams();
    ['display_token', 'months'].forEach(function (k) { if (page.has(k)) { q.set(k, page.get(k)); } });
    var s = q.toString();
    return '/dashboard/data' + (s ? '?' + s : '');
  }

  function load() {
    return fetch(dataURL(), { headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (r.status === 401) { throw new Error('HTTP 401: this screen needs ?display_token=<display client key> in its URL'); }
        if (!r.ok) { throw new Error('GET /dashboard/data: HTTP ' + r.status); }
        return r.json();
      })
      .then(draw)
      .catch(function (e) { window.dashboardNote('load: ' + e.message); });
  }

  // On resize the charts follow their containers (text sizes at the next refresh).
  window.addEventListener('resize', function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  load();
  setInterval(load, REFRESH_MS);
})();
