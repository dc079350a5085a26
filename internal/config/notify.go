package config

import (
	"flag"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// Notify configures notifications to holders (docs/notifications.md).
// Neither SMTPHost nor SMSGatewayURL set: no notifier runs.
type Notify struct {
	SMTPHost     string
	SMTPPort     int
	SMTPFrom     string
	SMTPUsername string
	SMTPPassword string // secret
	// SMSGatewayURL is where SMS are posted (notifications.SMSGateway).
	SMSGatewayURL string
	// OperatorEmail receives batch failures needing action.
	OperatorEmail string
	// PickupPoints maps custodian codes to the names holders are told.
	PickupPoints map[string]string
}

// Enabled reports whether any medium is configured.
func (n Notify) Enabled() bool { return n.SMTPHost != "" || n.SMSGatewayURL != "" }

var notifySettings = []Setting{
	{"CARDLEDGER_SMTP_HOST", "smtp-host", "(empty: no e-mail)", "mail server that notification e-mails go through (STARTTLS when it offers it)"},
	{"CARDLEDGER_SMTP_PORT", "smtp-port", "587", "its port"},
	{"CARDLEDGER_SMTP_FROM", "smtp-from", "noreply@localhost", "the sender address of notification e-mails"},
	{"CARDLEDGER_SMTP_USERNAME", "smtp-username", "(empty: no authentication)", "SMTP user (PLAIN authentication, over TLS or to localhost only)"},
	{"CARDLEDGER_SMTP_PASSWORD", "smtp-password", "(empty)", "its password; secret"},
	{"CARDLEDGER_SMS_GATEWAY_URL", "sms-gateway-url", "(empty: no SMS)", "HTTP gateway notification SMS are posted to (`cardledger simulate sms` plays one)"},
	{"CARDLEDGER_NOTIFY_OPERATOR_EMAIL", "notify-operator-email", "(empty: none)", "the agency's operator mailbox that batch failures needing action are e-mailed to"},
	{"CARDLEDGER_PICKUP_POINTS", "pickup-points", "(empty: every custodian)", "pick-up points as code=name,…: a hand-over to one tells the holder their card is ready there; empty announces every hand-over to a custodian other than the vendor, named by its code"},
}

// bindNotify adds the notification flags to fs; the returned function
// checks them after parsing.
func bindNotify(fs *flag.FlagSet, env func(name, def string) string) func() (Notify, error) {
	var n Notify
	var port, points string
	fs.StringVar(&n.SMTPHost, "smtp-host", env("CARDLEDGER_SMTP_HOST", ""), "SMTP server host")
	fs.StringVar(&port, "smtp-port", env("CARDLEDGER_SMTP_PORT", "587"), "SMTP server port")
	fs.StringVar(&n.SMTPFrom, "smtp-from", env("CARDLEDGER_SMTP_FROM", "noreply@localhost"), "sender address")
	fs.StringVar(&n.SMTPUsername, "smtp-username", env("CARDLEDGER_SMTP_USERNAME", ""), "SMTP user")
	fs.StringVar(&n.SMTPPassword, "smtp-password", env("CARDLEDGER_SMTP_PASSWORD", ""), "SMTP password")
	fs.StringVar(&n.SMSGatewayURL, "sms-gateway-url", env("CARDLEDGER_SMS_GATEWAY_URL", ""), "SMS gateway URL")
	fs.StringVar(&n.OperatorEmail, "notify-operator-email", env("CARDLEDGER_NOTIFY_OPERATOR_EMAIL", ""), "operator mailbox for batch failures")
	fs.StringVar(&points, "pickup-points", env("CARDLEDGER_PICKUP_POINTS", ""), "pick-up points, code=name,…")
	return func() (Notify, error) {
		var err error
		if n.SMTPPort, err = strconv.Atoi(port); err != nil || n.SMTPPort < 1 || n.SMTPPort > 65535 {
			return Notify{}, fmt.Errorf("CARDLEDGER_SMTP_PORT / --smtp-port: want a port 1..65535, got %q", port)
		}
		if a, err := mail.ParseAddress(n.SMTPFrom); err != nil || a.Address != n.SMTPFrom {
			return Notify{}, fmt.Errorf("CARDLEDGER_SMTP_FROM / --smtp-from: want a bare address like noreply@example.cn, got %q", n.SMTPFrom)
		}
		if n.OperatorEmail != "" {
			if a, err := mail.ParseAddress(n.OperatorEmail); err != nil || a.Address != n.OperatorEmail {
				return Notify{}, fmt.Errorf("CARDLEDGER_NOTIFY_OPERATOR_EMAIL / --notify-operator-email: want a bare address, got %q", n.OperatorEmail)
			}
		}
		if n.SMSGatewayURL != "" && !strings.HasPrefix(n.SMSGatewayURL, "http://") && !strings.HasPrefix(n.SMSGatewayURL, "https://") {
			return Notify{}, fmt.Errorf("CARDLEDGER_SMS_GATEWAY_URL / --sms-gateway-url: want an http:// or https:// URL, got %q", redact(n.SMSGatewayURL))
		}
		for _, item := range strings.Split(points, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			code, name, ok := strings.Cut(item, "=")
			code, name = strings.TrimSpace(code), strings.TrimSpace(name)
			if !ok || code == "" || name == "" {
				return Notify{}, fmt.Errorf("CARDLEDGER_PICKUP_POINTS / --pickup-points: want code=name,…, got %q", item)
			}
			if n.PickupPoints == nil {
				n.PickupPoints = map[string]string{}
			}
			n.PickupPoints[code] = name
		}
		return n, nil
	}
}
