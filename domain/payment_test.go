package domain

import (
	"reflect"
	"testing"
	"time"
)

var payAt = time.Date(2026, 12, 5, 15, 30, 0, 0, time.UTC) // 23:30 in Beijing

func givenMerchant(events ...Event) *Merchant {
	m := &Merchant{}
	for _, e := range events {
		m.Apply(e)
	}
	return m
}

func merchantRegistered() MerchantRegistered {
	return MerchantRegistered{MerchantID: "m-1", AccountID: "acc-1", AppID: "app-1", Name: "济宁市某某药房",
		CreditCode: "91350100M000100Y43", MCC: "5912",
		Settlement: SettlementAccount{BankCode: "102", AccountNo: "6222020000000001", Name: "济宁市某某药房"},
		By:         "app-app-1", At: payAt}
}

func merchantApproved() MerchantApproved {
	return MerchantApproved{MerchantID: "m-1", By: "city-admin", At: payAt}
}

func TestMerchantLifecycle(t *testing.T) {
	bound := MerchantAppBound{MerchantID: "m-1", AppID: "app-2", By: "integrator-acc-1", At: payAt}
	cases := []struct {
		name  string
		given []Event
		cmd   MerchantCommand
		want  []Event
	}{
		{"register", nil, RegisterMerchant(merchantRegistered()), []Event{merchantRegistered()}},
		{"approve", []Event{merchantRegistered()}, ApproveMerchant{By: "city-admin", At: payAt}, []Event{merchantApproved()}},
		{"reject", []Event{merchantRegistered()}, RejectMerchant{By: "city-admin", Reason: "执照过期", At: payAt},
			[]Event{MerchantRejected{MerchantID: "m-1", By: "city-admin", Reason: "执照过期", At: payAt}}},
		{"bind another app", []Event{merchantRegistered(), merchantApproved()},
			BindMerchantApp{AppID: "app-2", AppAccount: "acc-1", By: "integrator-acc-1", At: payAt}, []Event{bound}},
		{"unbind", []Event{merchantRegistered(), merchantApproved(), bound},
			UnbindMerchantApp{AppID: "app-1", By: "integrator-acc-1", At: payAt},
			[]Event{MerchantAppUnbound{MerchantID: "m-1", AppID: "app-1", By: "integrator-acc-1", At: payAt}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecideMerchant(givenMerchant(c.given...), c.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestMerchantRefusals(t *testing.T) {
	bad := func(mut func(*MerchantRegistered)) MerchantCommand {
		r := merchantRegistered()
		mut(&r)
		return RegisterMerchant(r)
	}
	cases := []struct {
		name  string
		given []Event
		cmd   MerchantCommand
		code  string
		field string
	}{
		{"registered twice", []Event{merchantRegistered()}, RegisterMerchant(merchantRegistered()), CodeMerchantExists, ""},
		{"approve unknown", nil, ApproveMerchant{By: "a"}, CodeMerchantNotFound, ""},
		{"approve twice", []Event{merchantRegistered(), merchantApproved()}, ApproveMerchant{By: "a"}, CodeMerchantDecided, ""},
		{"bind another account's app", []Event{merchantRegistered()}, BindMerchantApp{AppID: "app-9", AppAccount: "acc-9"}, CodeAppNotFound, ""},
		{"bind twice", []Event{merchantRegistered()}, BindMerchantApp{AppID: "app-1", AppAccount: "acc-1"}, CodeMerchantAppBound, ""},
		{"unbind the last app", []Event{merchantRegistered()}, UnbindMerchantApp{AppID: "app-1"}, CodeMerchantLastApp, ""},
		{"credit code", nil, bad(func(r *MerchantRegistered) { r.CreditCode = "91350100M000100Y44" }), CodeInvalidCommand, "credit_code"},
		{"mcc", nil, bad(func(r *MerchantRegistered) { r.MCC = "59A2" }), CodeInvalidCommand, "mcc"},
		{"settlement bank", nil, bad(func(r *MerchantRegistered) { r.Settlement.BankCode = "1020" }), CodeInvalidCommand, "settlement.bank_code"},
		{"settlement account", nil, bad(func(r *MerchantRegistered) { r.Settlement.AccountNo = "62220" }), CodeInvalidCommand, "settlement.account_no"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecideMerchant(givenMerchant(c.given...), c.cmd)
			de, ok := AsError(err)
			if !ok || got != nil || de.Code != c.code {
				t.Fatalf("got %v, %v; want %s", got, err, c.code)
			}
			if c.field != "" && (len(de.Fields) != 1 || de.Fields[0].Field != c.field) {
				t.Fatalf("fields %v, want one on %s", de.Fields, c.field)
			}
		})
	}
}

func TestMerchantTakesOrders(t *testing.T) {
	for _, c := range []struct {
		name  string
		given []Event
		app   string
		code  string
	}{
		{"unknown", nil, "app-1", CodeMerchantNotFound},
		{"pending", []Event{merchantRegistered()}, "app-1", CodeMerchantNotApproved},
		{"rejected", []Event{merchantRegistered(), MerchantRejected{MerchantID: "m-1"}}, "app-1", CodeMerchantNotApproved},
		{"app not bound", []Event{merchantRegistered(), merchantApproved()}, "app-2", CodeMerchantAppNotBound},
		{"approved, bound", []Event{merchantRegistered(), merchantApproved()}, "app-1", ""},
	} {
		err := givenMerchant(c.given...).Takes(c.app)
		if (c.code == "" && err != nil) || (c.code != "" && !HasCode(err, c.code)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.code)
		}
	}
}

func givenOrder(events ...Event) *PaymentOrder {
	o := &PaymentOrder{}
	for _, e := range events {
		o.Apply(e)
	}
	return o
}

func orderCreated() PaymentOrderCreated {
	return PaymentOrderCreated{OrderID: PaymentOrderIDFor("m-1", "20261205-0001"), MerchantID: "m-1",
		MerchantOrderNo: "20261205-0001", AppID: "app-1", AmountFen: 12_345, Description: "药品",
		NotifyURL: "https://shop.example.com/notify", At: payAt}
}

func orderPaid() PaymentOrderPaid {
	c := orderCreated()
	return PaymentOrderPaid{OrderID: c.OrderID, MerchantID: "m-1", MerchantOrderNo: c.MerchantOrderNo, AmountFen: 12_345,
		Method: PayByCode, Channel: "icbc", CardholderID: "h-1", BankCode: "102", BankTxnID: "SIM-1", At: payAt}
}

func payCommand() PayPaymentOrder {
	return PayPaymentOrder{Method: PayByCode, Channel: "icbc", CardholderID: "h-1", BankCode: "102",
		Approved: true, BankTxnID: "SIM-1", At: payAt}
}

func refunded(no string, amount, total int64) PaymentOrderRefunded {
	c := orderCreated()
	return PaymentOrderRefunded{OrderID: c.OrderID, MerchantID: "m-1", MerchantOrderNo: c.MerchantOrderNo, RefundNo: no,
		AmountFen: amount, RefundedFen: total, PaidFen: 12_345, BankCode: "102", BankRefundID: "SIM-R-" + no, At: payAt}
}

func TestPaymentOrderLifecycle(t *testing.T) {
	c := orderCreated()
	cases := []struct {
		name       string
		given      []Event
		cmd        PaymentOrderCommand
		want       []Event
		wantStatus OrderStatus
	}{
		{"create", nil, CreatePaymentOrder(c), []Event{c}, OrderCreated},
		{"create again, same terms", []Event{c}, CreatePaymentOrder(c), nil, OrderCreated},
		{"pay", []Event{c}, payCommand(), []Event{orderPaid()}, OrderPaid},
		{"declined", []Event{c}, PayPaymentOrder{CardholderID: "h-1", BankCode: "102", DeclineReason: "insufficient_funds", At: payAt},
			[]Event{PaymentOrderFailed{OrderID: c.OrderID, MerchantID: "m-1", MerchantOrderNo: c.MerchantOrderNo, AmountFen: 12_345,
				CardholderID: "h-1", BankCode: "102", Reason: "insufficient_funds", At: payAt}}, OrderFailed},
		{"close", []Event{c}, ClosePaymentOrder{By: "app-app-1", Reason: "顾客离开", At: payAt},
			[]Event{PaymentOrderClosed{OrderID: c.OrderID, MerchantID: "m-1", MerchantOrderNo: c.MerchantOrderNo, AmountFen: 12_345,
				By: "app-app-1", Reason: "顾客离开", At: payAt}}, OrderClosed},
		{"partial refund", []Event{c, orderPaid()}, RefundPaymentOrder{RefundNo: "R1", AmountFen: 345, BankRefundID: "SIM-R-R1", At: payAt},
			[]Event{refunded("R1", 345, 345)}, OrderPartiallyRefunded},
		{"rest refunded", []Event{c, orderPaid(), refunded("R1", 345, 345)},
			RefundPaymentOrder{RefundNo: "R2", AmountFen: 12_000, BankRefundID: "SIM-R-R2", At: payAt},
			[]Event{refunded("R2", 12_000, 12_345)}, OrderRefunded},
		{"full refund", []Event{c, orderPaid()}, RefundPaymentOrder{RefundNo: "R1", AmountFen: 12_345, BankRefundID: "SIM-R-R1", At: payAt},
			[]Event{refunded("R1", 12_345, 12_345)}, OrderRefunded},
		{"same refund again", []Event{c, orderPaid(), refunded("R1", 345, 345)},
			RefundPaymentOrder{RefundNo: "R1", AmountFen: 345, BankRefundID: "SIM-R-R1", At: payAt}, nil, OrderPartiallyRefunded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := givenOrder(tc.given...)
			got, err := DecidePaymentOrder(o, tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
			for _, e := range got {
				o.Apply(e)
			}
			if o.Status != tc.wantStatus {
				t.Fatalf("status %s, want %s", o.Status, tc.wantStatus)
			}
		})
	}
}

func TestPaymentOrderRefusals(t *testing.T) {
	c := orderCreated()
	with := func(mut func(*PaymentOrderCreated)) PaymentOrderCommand {
		x := orderCreated()
		mut(&x)
		return CreatePaymentOrder(x)
	}
	paid := []Event{c, orderPaid()}
	cases := []struct {
		name  string
		given []Event
		cmd   PaymentOrderCommand
		code  string
		field string
	}{
		{"zero amount", nil, with(func(x *PaymentOrderCreated) { x.AmountFen = 0 }), CodeOrderAmountInvalid, "amount_fen"},
		{"negative amount", nil, with(func(x *PaymentOrderCreated) { x.AmountFen = -1 }), CodeOrderAmountInvalid, "amount_fen"},
		{"over the limit", nil, with(func(x *PaymentOrderCreated) { x.AmountFen = MaxOrderAmountFen + 1 }), CodeOrderAmountInvalid, "amount_fen"},
		{"order number", nil, with(func(x *PaymentOrderCreated) { x.MerchantOrderNo = "no 1" }), CodeInvalidCommand, "merchant_order_no"},
		{"notify url", nil, with(func(x *PaymentOrderCreated) { x.NotifyURL = "ftp://x/y" }), CodeInvalidCommand, "notify_url"},
		{"no description", nil, with(func(x *PaymentOrderCreated) { x.Description = "" }), CodeInvalidCommand, "description"},
		{"same number, other amount", []Event{c}, with(func(x *PaymentOrderCreated) { x.AmountFen = 1 }), CodeOrderNumberReused, ""},
		{"pay unknown", nil, payCommand(), CodeOrderNotFound, ""},
		{"paid twice", paid, payCommand(), CodeOrderAlreadyPaid, ""},
		{"pay refunded", append(paid, refunded("R1", 12_345, 12_345)), payCommand(), CodeOrderAlreadyPaid, ""},
		{"pay closed", []Event{c, PaymentOrderClosed{OrderID: c.OrderID}}, payCommand(), CodeOrderClosed, ""},
		{"pay failed", []Event{c, PaymentOrderFailed{OrderID: c.OrderID, Reason: "x"}}, payCommand(), CodeOrderFailed, ""},
		{"close paid", paid, ClosePaymentOrder{By: "x"}, CodeOrderAlreadyPaid, ""},
		{"refund unpaid", []Event{c}, RefundPaymentOrder{RefundNo: "R1", AmountFen: 1, BankRefundID: "b"}, CodeOrderNotPaid, ""},
		{"refund more than paid", paid, RefundPaymentOrder{RefundNo: "R1", AmountFen: 12_346, BankRefundID: "b"}, CodeRefundExceedsPaid, ""},
		{"refund more than left", append(paid, refunded("R1", 345, 345)),
			RefundPaymentOrder{RefundNo: "R2", AmountFen: 12_001, BankRefundID: "b"}, CodeRefundExceedsPaid, ""},
		{"refund number reused", append(paid, refunded("R1", 345, 345)),
			RefundPaymentOrder{RefundNo: "R1", AmountFen: 1, BankRefundID: "b"}, CodeRefundNumberReused, ""},
		{"refund zero", paid, RefundPaymentOrder{RefundNo: "R1", AmountFen: 0, BankRefundID: "b"}, CodeOrderAmountInvalid, "amount_fen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecidePaymentOrder(givenOrder(tc.given...), tc.cmd)
			de, ok := AsError(err)
			if !ok || got != nil || de.Code != tc.code {
				t.Fatalf("got %v, %v; want %s", got, err, tc.code)
			}
			if tc.field != "" && (len(de.Fields) != 1 || de.Fields[0].Field != tc.field) {
				t.Fatalf("fields %v, want one on %s", de.Fields, tc.field)
			}
		})
	}
}

func TestPaymentEventsRoundTrip(t *testing.T) {
	for _, e := range []Event{merchantRegistered(), merchantApproved(), MerchantAppBound{MerchantID: "m-1", AppID: "a", At: payAt},
		orderCreated(), orderPaid(), refunded("R1", 1, 1),
		PaymentOrderFailed{OrderID: "o", Reason: "r", At: payAt}, PaymentOrderClosed{OrderID: "o", By: "b", At: payAt}} {
		enc := PaymentOrders.Encode
		if _, ok := merchantCodec.types[e.EventType()]; ok {
			enc = Merchants.Encode
		}
		typ, data, err := enc(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeStoredPaymentEvent(typ, data, nil)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: %#v, %v", typ, back, err)
		}
		if SchemaVersion(typ) != 1 {
			t.Fatalf("%s: version %d", typ, SchemaVersion(typ))
		}
	}
}

func TestPaymentOrderIDIsPerMerchantAndNumber(t *testing.T) {
	a, b, c := PaymentOrderIDFor("m-1", "1"), PaymentOrderIDFor("m-2", "1"), PaymentOrderIDFor("m-1", "1")
	if a == b || a != c {
		t.Fatalf("%s %s %s", a, b, c)
	}
}
