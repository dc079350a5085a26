package ecard

import (
	"context"
	"fmt"
)

// unknownExpiryKeep is how long a verification row written before rows
// carried their code's expiry is kept: longer than any code's lifetime.
const unknownExpiryKeep = "1 day"

// PruneVerifications deletes the verification rows nothing needs any more,
// at most batch per statement, and returns how many went. A row is what
// stops its code verifying twice, so it stays until the code has expired
// for every verifier (its expiry plus MaxClockSkew); it also feeds the risk
// check, so it stays for the risk window after the verification. The
// verification itself is in the event log for good (a usage record).
func (s *Service) PruneVerifications(ctx context.Context, batch int) (int64, error) {
	now := s.clock()
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM ecard.verifications WHERE code_id = ANY (ARRAY(
			SELECT code_id FROM ecard.verifications
			WHERE coalesce(expires_at, verified_at + $4::interval) < $1 AND verified_at < $2 LIMIT $3))`,
			now.Add(-MaxClockSkew), now.Add(-s.window), batch, unknownExpiryKeep)
		if err != nil {
			return total, fmt.Errorf("ecard: prune verifications: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}
