package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DefaultReadTimeout bounds every ClickHouse call whose URL sets no
// read_timeout: some failures (an INSERT ... VALUES on 18.16, a dead server)
// otherwise hang forever.
const DefaultReadTimeout = 60 * time.Second

// Open connects to ClickHouse over the native protocol. url is a
// clickhouse-go DSN such as clickhouse://127.0.0.1:9000/default; the HTTP
// protocol is refused because the driver cannot talk HTTP to 18.16.
func Open(ctx context.Context, url string) (driver.Conn, error) {
	conn, err := Connect(url)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse: ping %s: %w", url, err)
	}
	return conn, nil
}

// Connect is Open without the ping: the driver dials on first use and
// again after failures, so a service started while ClickHouse is down
// serves everything else and analytics once ClickHouse is back
// (serve, project). Only a malformed URL fails.
func Connect(url string) (driver.Conn, error) {
	opts, err := clickhouse.ParseDSN(url)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: parse url: %w", err)
	}
	if opts.Protocol != clickhouse.Native {
		return nil, fmt.Errorf("clickhouse: %s: only the native protocol (clickhouse://host:9000) is supported", url)
	}
	if opts.ReadTimeout == 0 || opts.ReadTimeout == 300*time.Second {
		// 300 s is the driver's default, i.e. the URL did not choose.
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	// No compression unless the URL asks (compress=lz4): on a local or LAN
	// link it costs more CPU than it saves time.
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: open %s: %w", url, err)
	}
	return conn, nil
}
