//go:build tools

package cardledger

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	_ "github.com/ebfe/scard"
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/labstack/echo/v4"
	_ "github.com/sirupsen/logrus"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/text/encoding/simplifiedchinese"
	_ "github.com/shopspring/decimal"
	_ "github.com/schollz/progressbar/v3"
	_ "google.golang.org/grpc"
)
