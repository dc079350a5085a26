package commands_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/eventstore"
)

// folded wires the API as cmd/cardledger does on PostgreSQL: the event
// store lives in the idempotency table's database, so a one-append
// command's key is recorded by its append.
var folded = envOption{configure: func(api *commands.API) { api.WithIdempotencyInAppends() }}

// recordWrites makes a trigger log every row written to
// command_idempotency with the transaction that wrote it; writes returns
// the log as "op status response-is-null same-transaction-as-event".
func (e *env) recordWrites(ctx context.Context) func() []string {
	e.t.Helper()
	_, err := e.pool.Exec(ctx, `CREATE TABLE seen (n serial, op text, status int, no_response bool, xid xid8);
		CREATE FUNCTION record_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO seen (op, status, no_response, xid) VALUES (TG_OP, NEW.status, NEW.response IS NULL, pg_current_xact_id());
			RETURN NULL;
		END $$;
		CREATE TRIGGER record_write AFTER INSERT OR UPDATE ON command_idempotency
			FOR EACH ROW EXECUTE FUNCTION record_write();`)
	require.NoError(e.t, err)
	return func() []string {
		rows, err := e.pool.Query(ctx, `SELECT s.op || ' ' || coalesce(s.status::text, 'claim') ||
				CASE WHEN s.no_response THEN ' no response' ELSE ' with response' END ||
				CASE WHEN EXISTS (SELECT FROM eventstore_events ev WHERE ev.xid = s.xid) THEN ', with events' ELSE '' END
			FROM seen s ORDER BY n`)
		require.NoError(e.t, err)
		var out []string
		for rows.Next() {
			var s string
			require.NoError(e.t, rows.Scan(&s))
			out = append(out, s)
		}
		require.NoError(e.t, rows.Err())
		return out
	}
}

// A keyed success of a one-append command writes its key's row in the
// append's own transaction (no claim before, no completion after); a retry
// answers the same bytes from the command's events, marked as a replay,
// and writes nothing.
func TestFoldedKeyIsWrittenByTheAppend(t *testing.T) {
	e := newEnv(t, folded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder, cardNo := e.activeCard(1)
	writes := e.recordWrites(ctx)
	count := e.streamLen(holder)

	body := map[string]string{"reason": "left it at home"}
	first := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, body, "Idempotency-Key", "tl-1")
	require.Equal(t, http.StatusOK, first.Status, string(first.Body))
	assert.Empty(t, first.Header.Get(commands.HeaderReplayed))
	assert.Equal(t, []string{"INSERT 200 no response, with events"}, writes(), "one row, written with the events")
	require.Equal(t, count+1, e.streamLen(holder))

	again := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, body, "Idempotency-Key", "tl-1")
	require.Equal(t, http.StatusOK, again.Status, string(again.Body))
	assert.Equal(t, string(first.Body), string(again.Body), "byte for byte")
	assert.Equal(t, first.Header.Get("ETag"), again.Header.Get("ETag"))
	assert.Equal(t, "true", again.Header.Get(commands.HeaderReplayed))
	assert.Equal(t, count+1, e.streamLen(holder), "a retry appends nothing")
	assert.Len(t, writes(), 1, "and writes no row")

	// Later commands do not change the answer: it is the state right
	// after the command's own events.
	unlock := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/unlock", keyCounter, nil)
	require.Equal(t, http.StatusOK, unlock.Status, string(unlock.Body))
	later := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, body, "Idempotency-Key", "tl-1")
	require.Equal(t, http.StatusOK, later.Status, string(later.Body))
	assert.Equal(t, string(first.Body), string(later.Body), "byte for byte, after an unlock")
	count++

	// The same key with another body is refused, on the same card as on
	// another: the other card's append went back with the key's row.
	other := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, map[string]string{"reason": "x"},
		"Idempotency-Key", "tl-1")
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, string(other.Body))
	assert.Equal(t, "idempotency_key_reused", other.problem(t).Code)
	holder2, cardNo2 := e.activeCard(2)
	count2 := e.streamLen(holder2)
	reused := e.do(http.MethodPost, "/v1/cards/"+cardNo2+"/temporary-loss", keyCounter, body, "Idempotency-Key", "tl-1")
	require.Equal(t, http.StatusUnprocessableEntity, reused.Status, string(reused.Body))
	assert.Equal(t, "idempotency_key_reused", reused.problem(t).Code)
	assert.Equal(t, count2, e.streamLen(holder2), "nothing appended on the other card")
	assert.Equal(t, count+1, e.streamLen(holder))
}

// Eight requests of one key at once append once and get one answer.
func TestFoldedKeyConcurrentRequestsAppendOnce(t *testing.T) {
	e := newEnv(t, folded)
	holder, cardNo := e.activeCard(1)
	count := e.streamLen(holder)

	const n = 8
	answers := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter,
				map[string]string{"reason": "same"}, "Idempotency-Key", "together")
		}()
	}
	wg.Wait()
	fresh := 0
	for i, a := range answers {
		require.Equal(t, http.StatusOK, a.Status, "request %d: %s", i, a.Body)
		assert.Equal(t, string(answers[0].Body), string(a.Body), "request %d", i)
		assert.Equal(t, answers[0].Header.Get("ETag"), a.Header.Get("ETag"), "request %d", i)
		if a.Header.Get(commands.HeaderReplayed) == "" {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh, "one request appended, the others answered its events")
	assert.Equal(t, count+1, e.streamLen(holder), "one append")
}

// A refusal is stored after the fact and answered again as it was, even
// once the command would succeed.
func TestFoldedKeyRefusalIsRemembered(t *testing.T) {
	e := newEnv(t, folded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder, cardNo := e.activeCard(1)
	writes := e.recordWrites(ctx)
	count := e.streamLen(holder)

	refused := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/unlock", keyCounter, nil, "Idempotency-Key", "unlock-1")
	require.Equal(t, http.StatusConflict, refused.Status, string(refused.Body))
	assert.Equal(t, []string{"INSERT 409 with response"}, writes(), "the refusal's row, stored on its own")

	lost := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, nil)
	require.Equal(t, http.StatusOK, lost.Status, string(lost.Body))
	again := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/unlock", keyCounter, nil, "Idempotency-Key", "unlock-1")
	assert.Equal(t, http.StatusConflict, again.Status)
	assert.Equal(t, string(refused.Body), string(again.Body))
	assert.Equal(t, "true", again.Header.Get(commands.HeaderReplayed))
	assert.Equal(t, count+1, e.streamLen(holder), "only the unkeyed loss appended")
}

// A route that is not one append (registration) keeps claiming first.
func TestFoldedKeyLeavesOtherRoutesClaimingFirst(t *testing.T) {
	e := newEnv(t, folded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	writes := e.recordWrites(ctx)
	r := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(1), "Idempotency-Key", "reg-1")
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	assert.Equal(t, []string{"INSERT claim no response", "UPDATE 201 with response"}, writes())
}

// A run whose append lost its key's row to another request lost a race.
func TestFoldedKeyRowConflictIsAConflictOutcome(t *testing.T) {
	err := fmt.Errorf("append cardholder-x: %w", fmt.Errorf("append with a row: %w", eventstore.ErrRowConflict))
	assert.Equal(t, commands.OutcomeConflict, commands.OutcomeOf(err))
}

// plainStore hides every optional capability of the store it wraps.
type plainStore struct{ eventstore.Store }

// Told to fold over a store that cannot write the key's row with the
// events, a request appends nothing before its key is known to be its
// own: it claims first, as any other, and a key reused on another card
// still appends nothing there.
func TestFoldedKeyOverAStoreWithoutRowsClaimsFirst(t *testing.T) {
	e := newEnv(t, envOption{wrap: func(_ *testing.T, s eventstore.Store, _ *pgxpool.Pool) eventstore.Store {
		return plainStore{s}
	}}, folded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder, cardNo := e.activeCard(1)
	holder2, cardNo2 := e.activeCard(2)
	writes := e.recordWrites(ctx)
	count, count2 := e.streamLen(holder), e.streamLen(holder2)

	first := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, nil, "Idempotency-Key", "k")
	require.Equal(t, http.StatusOK, first.Status, string(first.Body))
	assert.Equal(t, []string{"INSERT claim no response", "UPDATE 200 with response"}, writes())
	reused := e.do(http.MethodPost, "/v1/cards/"+cardNo2+"/temporary-loss", keyCounter, nil, "Idempotency-Key", "k")
	require.Equal(t, http.StatusUnprocessableEntity, reused.Status, string(reused.Body))
	assert.Equal(t, count2, e.streamLen(holder2), "nothing appended on the other card")
	assert.Equal(t, count+1, e.streamLen(holder))
}

// A keyed success answered again by running the command (its row has no
// body) is the first answer even when the holder has since left the
// caller's scope: the bank that reported the loss retries after the card
// was replaced at another bank, and gets its 200 again, not a scope
// refusal (the classic path answers the stored body the same way).
func TestFoldedKeyRetryAfterTheHolderLeftTheScope(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []envOption
	}{{"claimed", nil}, {"folded", []envOption{folded}}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			holder, cardNo := e.activeCard(1) // at bank 102, keyBank's
			body := map[string]string{"reason": "left it at home"}
			first := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyBank, body, "Idempotency-Key", "tl-scope")
			require.Equal(t, http.StatusOK, first.Status, string(first.Body))

			r := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/replacement", keyCounter,
				map[string]string{"bank_code": "103", "source": "bank", "reason": "damaged"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			requireDeniedBank := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/unlock", keyBank, nil)
			require.Equal(t, http.StatusForbidden, requireDeniedBank.Status, "the holder's card is at bank 103 now: %s", requireDeniedBank.Body)
			count := e.streamLen(holder)

			again := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyBank, body, "Idempotency-Key", "tl-scope")
			require.Equal(t, http.StatusOK, again.Status, string(again.Body))
			assert.Equal(t, string(first.Body), string(again.Body), "byte for byte")
			assert.Equal(t, first.Header.Get("ETag"), again.Header.Get("ETag"))
			assert.Equal(t, "true", again.Header.Get(commands.HeaderReplayed))
			assert.Equal(t, count, e.streamLen(holder), "a retry appends nothing")
		})
	}
}

// A request whose run wrote no row (here it found the key's command
// applied already) settles its key after the fact; when that record
// fails, the key's row still decides the answer: another body under the
// key is refused, never answered with the first body's events.
func TestFoldedKeyReusedWhileItsRecordFails(t *testing.T) {
	e := newEnv(t, folded)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder, cardNo := e.activeCard(1)
	first := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter,
		map[string]string{"reason": "left it at home"}, "Idempotency-Key", "tl-rec")
	require.Equal(t, http.StatusOK, first.Status, string(first.Body))
	count := e.streamLen(holder)
	// Every answer stored after the fact fails from now on.
	_, err := e.pool.Exec(ctx, `CREATE FUNCTION refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.response IS NOT NULL THEN RAISE EXCEPTION 'record refused by the test'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_record BEFORE INSERT ON command_idempotency
			FOR EACH ROW EXECUTE FUNCTION refuse_record();`)
	require.NoError(t, err)

	other := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter,
		map[string]string{"reason": "another body"}, "Idempotency-Key", "tl-rec")
	require.Equal(t, http.StatusUnprocessableEntity, other.Status, string(other.Body))
	assert.Equal(t, "idempotency_key_reused", other.problem(t).Code)
	assert.Equal(t, count, e.streamLen(holder))
}
