// Package dashboard holds the analytics dashboard page and its vendored
// assets (Apache ECharts, see assets/README.md), embedded in the binary so
// that the page works without internet. analytics serves them.
package dashboard

import "embed"

// Files holds index.html, dashboard.js and assets/.
//
//go:embed index.html dashboard.js assets/echarts.min.js
var Files embed.FS
