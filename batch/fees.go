package batch

import (
	"context"
	"fmt"
)

// feeDueSQL is true for a row whose current application's replacement fee
// is neither exempted nor paid (domain.Fee.Due): such an application waits
// for the POS and is never selected.
const feeDueSQL = `(coalesce((state->'Card'->'Fee'->>'AmountFen')::bigint, 0) > 0
	AND coalesce(state->'Card'->'Fee'->>'Exemption', '') = ''
	AND coalesce(state->'Card'->'Fee'->>'PaymentID', '') = '')`

// FeeRow is one replacement fee as the daily report lists it.
type FeeRow struct {
	ApplicationID string `json:"application_id"`
	CardholderID  string `json:"cardholder_id"`
	RegionCode    string `json:"region_code"`
	AmountFen     int64  `json:"amount_fen"`
	Exemption     string `json:"exemption,omitempty"`
	AssessedOn    string `json:"assessed_on"`
	PaymentID     string `json:"payment_id,omitempty"`
	PaidOn        string `json:"paid_on,omitempty"` // civil date in China
}

// FeesOn lists the replacement fees assessed or paid on day (YYYY-MM-DD,
// China), by application id. It reads every holder's cards, past ones
// included, from the read model (a scan: a report, run once a day).
func (m *ReadModel) FeesOn(ctx context.Context, day string) ([]FeeRow, error) {
	rows, err := m.pool.Query(ctx, `
		WITH fees AS (
			SELECT a.cardholder_id, a.region_code, c->>'ApplicationID' AS app, c->'Fee' AS fee
			FROM `+m.schema+`.applications a,
				jsonb_array_elements(coalesce(a.state->'PastCards', '[]'::jsonb) || jsonb_build_array(a.state->'Card')) c
			WHERE c->'Fee' IS NOT NULL AND jsonb_typeof(c->'Fee') = 'object'
		), dated AS (
			SELECT *, CASE WHEN coalesce(fee->>'PaymentID', '') = '' THEN ''
				ELSE to_char((fee->>'PaidAt')::timestamptz AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') END AS paid_on
			FROM fees
		)
		SELECT app, cardholder_id, region_code, (fee->>'AmountFen')::bigint, coalesce(fee->>'Exemption', ''),
			fee->>'AssessedOn', coalesce(fee->>'PaymentID', ''), paid_on
		FROM dated WHERE fee->>'AssessedOn' = $1 OR paid_on = $1
		ORDER BY app`, day)
	if err != nil {
		return nil, fmt.Errorf("fees on %s: %w", day, err)
	}
	defer rows.Close()
	out := []FeeRow{}
	for rows.Next() {
		var r FeeRow
		if err := rows.Scan(&r.ApplicationID, &r.CardholderID, &r.RegionCode, &r.AmountFen, &r.Exemption, &r.AssessedOn, &r.PaymentID, &r.PaidOn); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
