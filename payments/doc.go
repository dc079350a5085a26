// Package payments is the e-card payment side of the open platform:
// payment merchants (支付商户管理), payment orders (订单管理) paid with the
// e-card through the bank of the holder's card (网银适配), refunds, and the
// merchant's signed notifications. docs/platform.md is the guide.
//
// Invariants:
//   - Merchants and orders are streams of their own aggregates
//     (domain.Merchants, domain.PaymentOrders), written through the one
//     write pipeline; a refused request appends nothing.
//   - The read model (schema payments: merchants, orders, refunds; amounts
//     in fen, Beijing-time days beside every instant) is a projection of
//     those streams, so reconciliation reads what the streams say and a
//     rebuild reproduces it.
package payments
