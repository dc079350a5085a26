package analytics_test

import (
	"net/http"
	"testing"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
)

// TestAllOrNothingNeverClaimsNothingWasRecordedWhenSomethingWas: a record
// whose id another card-month holds is found only when its append is
// refused (on PostgreSQL), after the batch's other records were written.
// The answer must then say what was recorded, not "nothing was recorded".
func TestAllOrNothingNeverClaimsNothingWasRecordedWhenSomethingWas(t *testing.T) {
	s := newSystem(t)
	p := s.register(1, "320505")
	record := func(id, at string) domain.UsageInput {
		return domain.UsageInput{ID: id, CardNo: p.cardNo, At: at, Kind: "medical_settlement", Amount: "10.00",
			RegionCode: "320505", Merchant: "m", Category: "drugs", Channel: "card"}
	}
	rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: []domain.UsageInput{
		record("x-1", "2025-02-10T09:30:00+08:00")}})
	if rec.Code != http.StatusOK {
		t.Fatalf("first POST: %d %s", rec.Code, rec.Body.String())
	}
	var got analytics.UsageProblem
	rec = s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{AllOrNothing: true, Records: []domain.UsageInput{
		record("x-2", "2025-03-10T09:30:00+08:00"), record("x-1", "2025-03-10T09:31:00+08:00")}})
	mustJSON(t, rec.Code, http.StatusUnprocessableEntity, rec.Body.Bytes(), &got)
	if got.Recorded != 1 || got.Rejected != 1 || got.Code != analytics.CodeUsageRecordsRejected {
		t.Fatalf("answer %+v: want 1 recorded, 1 rejected, code %s", got, analytics.CodeUsageRecordsRejected)
	}
}
