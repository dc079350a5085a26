package config

import (
	"strings"
	"testing"
)

func TestNotifySettings(t *testing.T) {
	env := map[string]string{"CARDLEDGER_SMTP_HOST": "mail.example.cn", "CARDLEDGER_SMTP_PORT": "2525",
		"CARDLEDGER_SMTP_FROM": "noreply@card.example.cn", "CARDLEDGER_SMS_GATEWAY_URL": "http://127.0.0.1:9099/messages",
		"CARDLEDGER_PICKUP_POINTS": "pt-gulou=鼓楼区社保服务中心, pt-2 = 二号网点"}
	c, err := Load(newFlagSet(), []string{"--notify-operator-email", "ops@agency.example.cn"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	n := c.Notify
	if !n.Enabled() || n.SMTPPort != 2525 || n.OperatorEmail != "ops@agency.example.cn" ||
		n.PickupPoints["pt-gulou"] != "鼓楼区社保服务中心" || n.PickupPoints["pt-2"] != "二号网点" || len(n.PickupPoints) != 2 {
		t.Fatalf("got %+v", n)
	}
	c, err = Load(newFlagSet(), nil, func(string) string { return "" })
	if err != nil || c.Notify.Enabled() {
		t.Fatalf("by default no notifier: %+v %v", c.Notify, err)
	}
	for name, bad := range map[string]map[string]string{
		"CARDLEDGER_SMTP_PORT":             {"CARDLEDGER_SMTP_PORT": "0"},
		"CARDLEDGER_SMTP_FROM":             {"CARDLEDGER_SMTP_FROM": "Card <noreply@x.cn>"},
		"CARDLEDGER_NOTIFY_OPERATOR_EMAIL": {"CARDLEDGER_NOTIFY_OPERATOR_EMAIL": "ops"},
		"CARDLEDGER_SMS_GATEWAY_URL":       {"CARDLEDGER_SMS_GATEWAY_URL": "ftp://x"},
		"CARDLEDGER_PICKUP_POINTS":         {"CARDLEDGER_PICKUP_POINTS": "pt-1"},
	} {
		_, err := Load(newFlagSet(), nil, func(k string) string { return bad[k] })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v should name the setting", name, err)
		}
	}
}
