// Dashboard: fetches /dashboard/data (city-wide aggregates only) and draws
// the charts; refreshes every REFRESH_MS. When every chart has finished
// drawn, body[data-state] becomes "ready" and the title gets " · ready",
// which is what the headless-browser test waits for.
(function () {
  'use strict';
  var REFRESH_MS = 30000;
  var axis = { axisLine: { lineStyle: { color: '#4a5d7a' } }, axisLabel: { color: '#8fa3bf' },
               splitLine: { lineStyle: { color: '#22344f' } } };
  var legend = { textStyle: { color: '#c5d3e6' }, top: 0 };
  var charts = {};

  function chart(id) {
    if (!charts[id]) { charts[id] = echarts.init(document.getElementById(id), null, { renderer: 'canvas' }); }
    return charts[id];
  }
  function name(cities, code) { return (cities[code] || code || '未知') ; }
  function fmtInt(n) { return Number(n).toLocaleString('zh-CN'); }
  function fmtYuan(s) { return Number(s).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }

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
      tooltip: { formatter: function (p) {
        return name(d.cities, homes[p.value[1]]) + ' → ' + name(d.cities, uses[p.value[0]]) + '<br>' + fmtInt(p.value[2]) + ' 次';
      } },
      grid: { left: 90, right: 20, top: 10, bottom: 110 },
      xAxis: Object.assign({ type: 'category', data: uses.map(function (c) { return name(d.cities, c); }),
        axisLabel: { color: '#8fa3bf', rotate: 50 } }, { axisLine: axis.axisLine }),
      yAxis: Object.assign({ type: 'category', data: homes.map(function (c) { return name(d.cities, c); }) }, axis),
      visualMap: { min: 0, max: max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0,
                   textStyle: { color: '#c5d3e6' }, inRange: { color: ['#16324f', '#2b7bb9', '#4fc3f7', '#ffd54f', '#ff7043'] } },
      series: [{ type: 'heatmap', data: cells, label: { show: cells.length <= 80, color: '#0f1a2b', fontSize: 10 },
                 animation: false }]
    };
  }

  function spendingOption(d) {
    return {
      tooltip: { trigger: 'axis' }, legend: Object.assign({ data: ['本地', '异地'] }, legend),
      grid: { left: 70, right: 20, top: 30, bottom: 30 },
      xAxis: Object.assign({ type: 'category', data: d.spending.map(function (r) { return r.month; }) }, axis),
      yAxis: Object.assign({ type: 'value' }, axis),
      series: [
        { name: '本地', type: 'bar', stack: 'amount', data: d.spending.map(function (r) { return Number(r.local_amount); }), itemStyle: { color: '#4fc3f7' } },
        { name: '异地', type: 'bar', stack: 'amount', data: d.spending.map(function (r) { return Number(r.remote_amount); }), itemStyle: { color: '#ff8a65' } }
      ]
    };
  }

  function categoriesOption(d) {
    return {
      tooltip: { trigger: 'item', formatter: function (p) { return p.name + '<br>' + fmtYuan(p.value) + ' 元 (' + p.percent + '%)'; } },
      series: [{ type: 'pie', radius: ['35%', '68%'], center: ['50%', '52%'],
                 label: { color: '#c5d3e6' },
                 data: d.categories.map(function (c) { return { name: d.category_names[c.category] || c.category || '未分类', value: Number(c.amount) }; }) }]
    };
  }

  function issuanceOption(d) {
    var months = d.lifecycle.map(function (r) { return r.month; });
    return {
      tooltip: { trigger: 'axis' }, legend: Object.assign({ data: ['发卡', '挂失', '注销'] }, legend),
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: Object.assign({ type: 'category', data: months }, axis),
      yAxis: Object.assign({ type: 'value' }, axis),
      series: [
        { name: '发卡', type: 'bar', data: d.lifecycle.map(function (r) { return r.issued; }), itemStyle: { color: '#81c784' } },
        { name: '挂失', type: 'line', data: d.lifecycle.map(function (r) { return r.lost + r.temporarily_lost; }), itemStyle: { color: '#ffd54f' } },
        { name: '注销', type: 'line', data: d.lifecycle.map(function (r) { return r.cancelled; }), itemStyle: { color: '#e57373' } }
      ]
    };
  }

  function blacklistOption(d) {
    return {
      tooltip: { trigger: 'axis' },
      grid: { left: 50, right: 20, top: 20, bottom: 30 },
      xAxis: Object.assign({ type: 'category', data: d.lifecycle.map(function (r) { return r.month; }) }, axis),
      yAxis: Object.assign({ type: 'value' }, axis),
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
    document.getElementById('window').textContent = d.from + ' 至 ' + d.to;
    document.getElementById('updated').textContent = '更新于 ' + new Date().toLocaleTimeString('zh-CN');
  }

  function draw(d) {
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
    kpis(d);
  }

  function ready() {
    document.body.dataset.state = 'ready';
    if (document.title.indexOf(' · ready') < 0) { document.title += ' · ready'; }
  }

  function load() {
    return fetch('/dashboard/data', { headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('GET /dashboard/data: HTTP ' + r.status); }
        return r.json();
      })
      .then(draw)
      .catch(function (e) { window.dashboardNote('load: ' + e.message); });
  }

  window.addEventListener('resize', function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  load();
  setInterval(load, REFRESH_MS);
})();
