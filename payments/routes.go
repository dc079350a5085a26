package payments

import (
	"net/http"
	"time"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

var (
	rolesApp     = []httpapi.Role{httpapi.RoleApp}
	rolesAccount = []httpapi.Role{httpapi.RoleApp, httpapi.RoleIntegrator}
	rolesAdmin   = []httpapi.Role{httpapi.RoleAdmin}
	rolesChannel = []httpapi.Role{httpapi.RoleChannel}
	paymentApps  = []string{domain.AppFinancialPayment}
)

// Routes is the route table of merchants and payment orders.
func (a *API) Routes() []httpapi.Route {
	at := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	paidAt := at.Add(40 * time.Second)
	settlement := domain.SettlementAccount{BankCode: "102", AccountNo: "6222021612000012345", Name: "济宁市某某大药房有限公司"}
	merchant := MerchantView{ID: "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", AccountID: "5f0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f",
		Status: domain.MerchantStatusPending, Name: settlement.Name, CreditCode: "91350100M000100Y43", MCC: "5912",
		Settlement: settlement, Apps: []string{"8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}, CreatedAt: at, Revision: 1}
	approved := merchant
	approved.Status, approved.DecidedBy, approved.Revision = domain.MerchantStatusApproved, "city-admin", 2
	rejected := merchant
	rejected.Status, rejected.DecidedBy, rejected.Note, rejected.Revision = domain.MerchantStatusRejected, "city-admin", "营业执照已过期", 2
	bound := approved
	bound.Apps, bound.Revision = append(append([]string{}, approved.Apps...), "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b"), 3
	order := OrderView{ID: domain.PaymentOrderIDFor(merchant.ID, "20261205-000123"), MerchantID: merchant.ID,
		MerchantOrderNo: "20261205-000123", AppID: merchant.Apps[0], Status: domain.OrderCreated, AmountFen: 12800,
		Description: "药品一批", NotifyURL: "https://pay.example-pharmacy.cn/cardledger/notify", CreatedAt: at,
		Refunds: []RefundView{}, Revision: 1}
	paid := order
	paid.Status, paid.Method, paid.Channel, paid.BankCode, paid.BankTxnID, paid.PaidFen, paid.PaidAt, paid.Revision =
		domain.OrderPaid, domain.PayByCode, "icbc", "102", "SIM1024F3A9C1E27D85B0C4", 12800, &paidAt, 2
	refunded := paid
	refunded.Status, refunded.RefundedFen, refunded.Revision = domain.OrderPartiallyRefunded, 2800, 3
	refunded.Refunds = []RefundView{{RefundNo: "R-000123-1", AmountFen: 2800, BankRefundID: "SIMR1027C1D0E5A9B3F2", At: paidAt.Add(time.Hour)}}
	closed := order
	closed.Status, closed.Reason, closed.Revision = domain.OrderClosed, "顾客取消", 2
	status := NotificationStatus{MerchantID: merchant.ID, EventTypes: deliveries.MerchantEventTypes, Position: "2ded3-1",
		Delivered: 42, Pending: 1, Failures: 1, LastError: "receiver answered 500", CreatedAt: "2026-12-05T09:30:00Z"}
	command := []httpapi.Param{httpapi.IdempotencyKey}
	merchantNotFound := httpapi.Response{Status: http.StatusNotFound, Description: "merchant_not_found (none, or another account's)"}
	orderNotFound := httpapi.Response{Status: http.StatusNotFound, Description: "order_not_found (none, or not of a merchant the app is bound to)"}
	busy := httpapi.Response{Status: http.StatusConflict, Description: "order_busy (another request holds the order), or the order's state " +
		"refuses (order_already_paid, order_closed, order_failed, order_not_paid, refund_exceeds_paid, refund_number_reused, refund_declined)"}
	bank := httpapi.Response{Status: http.StatusBadGateway, Description: "bank_unavailable: the bank did not decide; nothing was recorded " +
		"and a payment code is given back; retry"}
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/payment/merchants", Roles: rolesApp, AppTypes: paymentApps, Status: http.StatusCreated,
			Summary: "A financial-payment app registers a merchant (支付商户管理), bound to the app; an administrator approves it " +
				"before it takes orders. The answer holds the secret that signs the merchant's notifications, shown once",
			Request: merchantRequest{Name: merchant.Name, CreditCode: merchant.CreditCode, MCC: merchant.MCC, Settlement: settlement},
			Params:  command, Response: MerchantRegistration{Merchant: merchant, NotifySecret: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			Responses: []httpapi.Response{{Status: http.StatusForbidden, Description: "merchant_scope (not an app), app_scope"},
				{Status: http.StatusConflict, Description: "merchant_exists"}},
			Handler: a.registerMerchant},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "The merchant (an account and its apps: their own merchants only)", Response: approved,
			Responses: []httpapi.Response{merchantNotFound}, Handler: a.getMerchant},
		{Method: http.MethodPost, Path: "/v1/payment/merchants/{id}/approval", Roles: rolesAdmin,
			Summary: "An administrator approves the merchant: it may take orders",
			Request: merchantDecision{Note: "资料齐全"}, RequestOptional: true, Params: command, Response: approved,
			Responses: []httpapi.Response{merchantNotFound, {Status: http.StatusConflict, Description: "merchant_decided"}},
			Handler:   a.approveMerchant},
		{Method: http.MethodPost, Path: "/v1/payment/merchants/{id}/rejection", Roles: rolesAdmin,
			Summary: "An administrator rejects the merchant", Request: merchantDecision{Reason: "营业执照已过期"}, RequestOptional: true,
			Params: command, Response: rejected,
			Responses: []httpapi.Response{merchantNotFound, {Status: http.StatusConflict, Description: "merchant_decided"}},
			Handler:   a.rejectMerchant},
		{Method: http.MethodPost, Path: "/v1/payment/merchants/{id}/apps", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "Bind another financial-payment app of the same account to the merchant",
			Request: bindRequest{AppID: bound.Apps[1]}, Params: command, Response: bound,
			Responses: []httpapi.Response{{Status: http.StatusNotFound, Description: "merchant_not_found, app_not_found " +
				"(none, another account's, or not a financial-payment app)"}, {Status: http.StatusConflict, Description: "merchant_app_bound"}},
			Handler: a.bindApp},
		{Method: http.MethodDelete, Path: "/v1/payment/merchants/{id}/apps/{app_id}", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "Unbind an app from the merchant: it takes no more orders for it (409 merchant_app_not_bound) and no " +
				"longer reads its orders; a merchant keeps at least one app",
			Params: command, Response: approved,
			Responses: []httpapi.Response{merchantNotFound, {Status: http.StatusConflict,
				Description: "merchant_app_not_bound (not bound), merchant_last_app (the merchant's only app)"}},
			Handler: a.unbindApp},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/orders", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "The merchant's orders, newest first, from the payments read model (an order created a moment ago may " +
				"be missing for a moment): filtered by status and by the Beijing-time day they were created; limit " +
				"(1-500, default 100) a page, cursor=next_cursor the next",
			Params: []httpapi.Param{
				httpapi.Query("status", "Only orders in this status", string(domain.OrderPaid)).OneOf(orderStatuses...),
				httpapi.Query("day", "Only orders created on this Beijing-time (UTC+8) day, YYYY-MM-DD", "2026-12-05"),
				httpapi.Query("limit", "Page size, 1 to 500 (default 100)", 100),
				httpapi.Query("cursor", "next_cursor of the previous page", "MjAyNi0xMi0wNVQwOTozMDowMFp8NGJkZWViYTY"),
			},
			Response: OrderPage{MerchantID: merchant.ID, Orders: []OrderSummary{{ID: paid.ID, MerchantOrderNo: paid.MerchantOrderNo,
				AppID: paid.AppID, Status: paid.Status, AmountFen: paid.AmountFen, Description: paid.Description, CreatedAt: at,
				CreatedDay: "2026-12-05", Method: paid.Method, Channel: paid.Channel, BankCode: paid.BankCode, BankTxnID: paid.BankTxnID,
				PaidFen: paid.PaidFen, PaidAt: paid.PaidAt, Revision: paid.Revision}},
				NextCursor: "MjAyNi0xMi0wNVQwOTozMDowMFp8NGJkZWViYTY"},
			Responses: []httpapi.Response{{Status: http.StatusBadRequest, Description: "invalid_query (status, day, limit, cursor)"},
				merchantNotFound},
			Handler: a.listOrders},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/orders/{no}", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "An order by the merchant's own order number", Response: paid,
			Responses: []httpapi.Response{merchantNotFound}, Handler: a.getOrderByNumber},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/notifications", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "The merchant's notification status: position delivered, failures of the next notification, dead letters " +
				"(docs/platform.md)", Response: status,
			Responses: []httpapi.Response{merchantNotFound}, Handler: a.notifications},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/notifications/dead-letters", Roles: rolesAccount, AppTypes: paymentApps,
			Summary: "Notifications given up after the last retry, in log order; send them again with /redelivery",
			Response: deliveries.DeadLetters{DeadLetters: []deliveries.DeadLetterView{{EventID: "0b5e5d0a-4b0e-5c4e-9a57-2a1f3c4d5e6f",
				Position: "2ded3-1", Type: domain.TypePaymentOrderPaid, Stream: domain.PaymentOrderStreamFor(order.ID), Attempts: 8,
				LastError: "receiver answered 500", At: "2026-12-05T09:33:00Z"}}},
			Responses: []httpapi.Response{merchantNotFound}, Handler: a.deadLetters},
		{Method: http.MethodPost, Path: "/v1/payment/merchants/{id}/notifications/redelivery", Roles: rolesAccount, AppTypes: paymentApps,
			Status:  http.StatusAccepted,
			Summary: "Send again every notification of the merchant after from_position (\"\" the start of the log), under the same event ids",
			Request: redeliveryRequest{FromPosition: "2ded3-0"}, Response: status,
			Responses: []httpapi.Response{merchantNotFound}, MaxBody: 4 << 10, Handler: a.redeliver},
		{Method: http.MethodPost, Path: "/v1/payment/merchants/{id}/notifications/secret", Roles: rolesAccount, AppTypes: paymentApps,
			Summary:  "A new secret for the merchant's notifications, shown once; the old one stops signing at once",
			Response: NotifySecret{MerchantID: merchant.ID, NotifySecret: "3c1a…"}, Responses: []httpapi.Response{merchantNotFound},
			Handler: a.rotateSecret},
		{Method: http.MethodPost, Path: "/v1/payment/orders", Roles: rolesApp, AppTypes: paymentApps, Status: http.StatusCreated,
			Summary: "A merchant's app creates a payment order (订单管理): amount in whole fen, description, the merchant's own " +
				"order number and the URL its notifications go to. The same number with the same terms answers the order " +
				"(200); with other terms 409 order_number_reused",
			Request: orderRequest{MerchantID: merchant.ID, MerchantOrderNo: order.MerchantOrderNo, AmountFen: Fen(order.AmountFen),
				Description: order.Description, NotifyURL: order.NotifyURL},
			Response: order,
			Responses: []httpapi.Response{
				{Status: http.StatusOK, Description: "the same order again: nothing recorded"},
				{Status: http.StatusBadRequest, Description: "order_amount_invalid (zero, negative, a fraction of a fen, not a number, " +
					"over 5,000,000 fen), invalid_command (merchant_order_no, description, notify_url)"},
				{Status: http.StatusForbidden, Description: "merchant_scope, app_scope"},
				{Status: http.StatusNotFound, Description: "merchant_not_found"},
				{Status: http.StatusConflict, Description: "merchant_not_approved, merchant_app_not_bound (the app is not the merchant's), order_number_reused"},
				{Status: http.StatusUnprocessableEntity, Description: "receiver_not_public: notify_url is a loopback, private or link-local address"},
			},
			Handler: a.createOrder},
		{Method: http.MethodGet, Path: "/v1/payment/orders/{id}", Roles: []httpapi.Role{httpapi.RoleApp, httpapi.RoleChannel}, AppTypes: paymentApps,
			Summary: "The order (an app bound to its merchant; a channel, to show the holder what to confirm)", Response: paid,
			Responses: []httpapi.Response{orderNotFound}, Handler: a.getOrder},
		{Method: http.MethodPost, Path: "/v1/payment/orders/{id}/payment", Roles: rolesApp, AppTypes: paymentApps,
			Summary: "The merchant scans the holder's payment code (POST /v1/ecard/payment-codes) and pays the order with it: the " +
				"bank of the holder's card debits the amount; the answer is the order, paid, or failed with the bank's reason",
			Request: paymentRequest{PaymentCode: "AIFAWDANNMJ7Z7ABAIBQIBIGA4EECMJQHE4DIOJRGYCXE43BOBYPVMH3…"}, Params: command, Response: paid,
			Responses: []httpapi.Response{
				{Status: http.StatusBadRequest, Description: "code_malformed (an identity code is not a payment code)"},
				{Status: http.StatusForbidden, Description: "holder_not_bound, channel_suspended, merchant_scope, " +
					"app_channel_not_served (the app does not serve ecard_qr)"},
				orderNotFound, busy,
				{Status: http.StatusUnprocessableEntity, Description: "code_bad_signature, code_expired"}, bank,
			},
			MaxBody: 4 << 10, Handler: a.pay},
		{Method: http.MethodPost, Path: "/v1/payment/orders/{id}/confirmation", Roles: rolesChannel,
			Summary: "The holder confirms the order online in the channel's app (e-card online payment): the bank of the holder's " +
				"card debits the amount; the answer is the order, paid or failed",
			Request: confirmationRequest{CardholderID: "077a70c7b0c1d2e3f4a5b6c7d8e9f0a1"}, Params: command,
			Response: func() OrderView { v := paid; v.Method = domain.PayByOnline; return v }(),
			Responses: []httpapi.Response{
				{Status: http.StatusForbidden, Description: "holder_not_bound, channel_suspended, client_without_channel"},
				orderNotFound, busy, bank,
			},
			MaxBody: 4 << 10, Handler: a.confirm},
		{Method: http.MethodPost, Path: "/v1/payment/orders/{id}/closure", Roles: rolesApp, AppTypes: paymentApps,
			Summary: "The merchant closes an order not paid", Request: closeRequest{Reason: closed.Reason}, RequestOptional: true,
			Params: command, Response: closed, Responses: []httpapi.Response{orderNotFound, busy}, Handler: a.closeOrder},
		{Method: http.MethodPost, Path: "/v1/payment/orders/{id}/refunds", Roles: rolesApp, AppTypes: paymentApps,
			Summary: "The merchant refunds part or all of what was paid; its refund number makes a repeat refund nothing",
			Request: refundRequest{RefundNo: refunded.Refunds[0].RefundNo, AmountFen: 2800, Reason: "退一件"}, Params: command,
			Response: refunded,
			Responses: []httpapi.Response{
				{Status: http.StatusBadRequest, Description: "order_amount_invalid, invalid_command (refund_no)"},
				orderNotFound, busy, bank,
			},
			Handler: a.refund},
	}
}
