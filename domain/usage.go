package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Card usage (用卡) is reported by settlement and service systems after the
// fact. It is not part of the cardholder aggregate: usage events live in
// their own streams (UsageStream) so that command handling never loads them,
// and no business rule of the card depends on them.
//
// Invariants of a UsageRecorded event:
//   - its event id is UsageEventID(RecordID), so a record reported twice maps
//     to the same event and is stored once;
//   - Amount is non-negative with at most two decimal places (fen);
//   - RegionCode passes ValidateRegionCode and CardNo passes ValidateCardNo.

// UsageKind is what the card was used for.
type UsageKind string

const (
	UsageMedicalSettlement UsageKind = "medical_settlement" // 医保结算
	UsagePharmacyPurchase  UsageKind = "pharmacy_purchase"  // 购药
	UsageIdentityAuth      UsageKind = "identity_auth"      // 身份认证
	UsageRightsQuery       UsageKind = "rights_query"       // 权益查询
	UsageTransit           UsageKind = "transit"            // 交通出行
	UsageOther             UsageKind = "other"
)

// UsageKinds lists every kind in a fixed order (the order of the analytics enum).
func UsageKinds() []UsageKind {
	return []UsageKind{UsageMedicalSettlement, UsagePharmacyPurchase, UsageIdentityAuth,
		UsageRightsQuery, UsageTransit, UsageOther}
}

func (k UsageKind) Valid() bool {
	for _, v := range UsageKinds() {
		if k == v {
			return true
		}
	}
	return false
}

// UsageChannel is how the card was presented.
type UsageChannel string

const (
	ChannelCard    UsageChannel = "card"     // the physical card
	ChannelECardQR UsageChannel = "ecard_qr" // the e-card's QR code
	ChannelOnline  UsageChannel = "online"
)

// UsageChannels lists every channel in a fixed order.
func UsageChannels() []UsageChannel {
	return []UsageChannel{ChannelCard, ChannelECardQR, ChannelOnline}
}

func (c UsageChannel) Valid() bool {
	return c == ChannelCard || c == ChannelECardQR || c == ChannelOnline
}

// Field limits of a usage record.
const (
	MaxUsageRecordIDLen = 64
	MaxMerchantLen      = 100 // characters, not bytes
	MaxCategoryLen      = 50
	// UsageClockSkew is how far in the future a record's time may be before
	// it is refused: senders' clocks are not ours.
	UsageClockSkew = 5 * time.Minute
)

// maxUsageAmount keeps amounts inside Decimal(18,2).
var maxUsageAmount = decimal.New(1, 15)

// UsageInput is a usage record as a sender reports it; every field is text.
type UsageInput struct {
	ID         string `json:"id"`
	CardNo     string `json:"card_no"`
	At         string `json:"at"` // RFC 3339
	Kind       string `json:"kind"`
	Amount     string `json:"amount"` // yuan, e.g. "12.50"; empty means 0
	RegionCode string `json:"region_code"`
	Merchant   string `json:"merchant"`
	Category   string `json:"category"`
	Channel    string `json:"channel"`
}

// UsageRecorded is one accepted usage record.
type UsageRecorded struct {
	RecordID   string          `json:"record_id"`
	CardNo     string          `json:"card_no"`
	At         time.Time       `json:"at"`
	Kind       UsageKind       `json:"kind"`
	Amount     decimal.Decimal `json:"amount"` // marshals as a JSON string
	RegionCode string          `json:"region_code"`
	Merchant   string          `json:"merchant,omitempty"`
	Category   string          `json:"category,omitempty"`
	Channel    UsageChannel    `json:"channel"`
}

func (UsageRecorded) EventType() string { return "UsageRecorded" }

// UsageEventType is the stored type name of UsageRecorded.
const UsageEventType = "UsageRecorded"

// usageSchemaVersion is UsageRecorded's schema version (SchemaVersion). It
// has no upcasters: its readers decode version 1 directly, fast (analytics).
// A version 2 must move it into a codec first.
const usageSchemaVersion = 1

// UsageStreamPrefix starts every usage stream name.
const UsageStreamPrefix = "usage-"

// UsageStream is the stream a usage event goes to: one per card and month
// of use (China time), e.g. usage-A12345678-202503. Streams stay small, so a
// writer can read one to see which records it already holds.
func UsageStream(cardNo string, at time.Time) string {
	return UsageStreamPrefix + cardNo + "-" + at.In(chinaTime).Format("200601")
}

// usageNamespace makes record ids into event ids; never change it.
var usageNamespace = uuid.MustParse("6f1c7e52-3f0e-4d57-9a53-2a8c1f5b9e10")

// UsageEventID is the event id of the usage record with the sender's id recordID.
func UsageEventID(recordID string) uuid.UUID {
	return uuid.NewSHA1(usageNamespace, []byte(recordID))
}

// chinaTime is UTC+8 without a tz database lookup; China has no DST.
var chinaTime = time.FixedZone("CST", 8*60*60)

// ChinaTime is the zone that dates and months of usage are counted in.
func ChinaTime() *time.Location { return chinaTime }

// ParseUsage checks a record and returns the event it becomes, or the field
// errors (field names are the JSON names). now is the receiving time; records
// later than now+UsageClockSkew are refused. Whether the card exists is for
// the caller to check: that needs storage.
func ParseUsage(in UsageInput, now time.Time) (UsageRecorded, []FieldError) {
	var errs []FieldError
	bad := func(field, code, msg string) { errs = append(errs, FieldError{Field: field, Code: code, Message: msg}) }

	id := strings.TrimSpace(in.ID)
	switch {
	case id == "":
		bad("id", CodeRequired, "record id is required")
	case len(id) > MaxUsageRecordIDLen:
		bad("id", CodeTooLong, fmt.Sprintf("record id is longer than %d bytes", MaxUsageRecordIDLen))
	}
	if in.CardNo == "" {
		bad("card_no", CodeRequired, "card number is required")
	} else if err := ValidateCardNo(in.CardNo); err != nil {
		bad("card_no", CodeInvalidCardNo, err.Error())
	}
	var at time.Time
	if in.At == "" {
		bad("at", CodeRequired, "time of use is required")
	} else if t, err := time.Parse(time.RFC3339, in.At); err != nil {
		bad("at", CodeInvalidValue, "time of use is not RFC 3339")
	} else if t.After(now.Add(UsageClockSkew)) {
		bad("at", CodeUsageInFuture, "time of use is in the future")
	} else {
		at = t.UTC()
	}
	kind := UsageKind(in.Kind)
	if !kind.Valid() {
		bad("kind", CodeInvalidValue, fmt.Sprintf("kind %q is not one of %v", in.Kind, UsageKinds()))
	}
	channel := UsageChannel(in.Channel)
	if !channel.Valid() {
		bad("channel", CodeInvalidValue, fmt.Sprintf("channel %q is not one of %v", in.Channel, UsageChannels()))
	}
	amount := decimal.Zero
	if in.Amount != "" {
		a, err := decimal.NewFromString(in.Amount)
		switch {
		case err != nil:
			bad("amount", CodeInvalidValue, "amount is not a decimal number")
		case a.IsNegative():
			bad("amount", CodeNegativeAmount, "amount is negative")
		case !a.Equal(a.Truncate(2)):
			bad("amount", CodeInvalidValue, "amount has more than two decimal places")
		case a.GreaterThanOrEqual(maxUsageAmount):
			bad("amount", CodeInvalidValue, "amount is too large")
		default:
			amount = a.Truncate(2)
		}
	}
	if in.RegionCode == "" {
		bad("region_code", CodeRequired, "region code is required")
	} else if err := ValidateRegionCode(in.RegionCode); err != nil {
		bad("region_code", CodeInvalidRegionCode, err.Error())
	}
	merchant := strings.TrimSpace(in.Merchant)
	if len([]rune(merchant)) > MaxMerchantLen {
		bad("merchant", CodeTooLong, fmt.Sprintf("merchant is longer than %d characters", MaxMerchantLen))
	}
	category := strings.TrimSpace(in.Category)
	if len([]rune(category)) > MaxCategoryLen {
		bad("category", CodeTooLong, fmt.Sprintf("category is longer than %d characters", MaxCategoryLen))
	}
	if len(errs) > 0 {
		return UsageRecorded{}, errs
	}
	return UsageRecorded{
		RecordID: id, CardNo: in.CardNo, At: at, Kind: kind, Amount: amount,
		RegionCode: in.RegionCode, Merchant: merchant, Category: category, Channel: channel,
	}, nil
}

// Field-level codes of usage records, next to the shared ones in errors.go
// (a card number no card was ever assigned is CodeCardNotFound, as
// everywhere else).
const (
	CodeUsageInFuture  = "in_future"       // the time of use is later than now
	CodeNegativeAmount = "negative_amount" // amounts are never negative; refunds are not usage
)

// DecodeUsage reads a UsageRecorded payload.
func DecodeUsage(data []byte) (UsageRecorded, error) {
	var u UsageRecorded
	if err := json.Unmarshal(data, &u); err != nil {
		return UsageRecorded{}, fmt.Errorf("decode %s: %w", UsageEventType, err)
	}
	return u, nil
}
