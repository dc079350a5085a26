package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/photos/phototest"
)

// The two people of the erasure scenario. Names and numbers are unusual
// enough that a match anywhere is a leak, not a coincidence.
// testPerson's newPhone is the phone they change to later (PhoneChanged,
// personal data too); fixedName and fixedPhoto are the name and photo a
// counter corrects to (PersonalDataCorrected, sealed as well). Photos are
// images uploaded at the counter, stored sealed at their content address;
// email is the e-mail address (实名邮箱) the counter records, where
// notifications go.
type testPerson struct {
	idNumber, name, phone string
	photo                 []byte
	newPhone, fixedName   string
	fixedPhoto            []byte
	email                 string
}

var (
	erasedPerson = testPerson{"11010519491231002X", "欧阳明月", "13912345678", phototest.JPEG(358, 441, 11), "13611112222",
		"欧阳明玥", phototest.JPEG(358, 441, 12), "ouyang.secret@mail.example.cn"}
	keptPerson = testPerson{"320505199003071336", "司马青云", "13787654321", phototest.JPEG(358, 441, 21), "13533334444",
		"司马青芸", phototest.JPEG(358, 441, 22), "sima.secret@mail.example.cn"}
)

// secrets are the person's data as it could appear anywhere; a photo by
// its content address (the images themselves are only ever stored sealed).
func (p testPerson) secrets() []string {
	return []string{p.idNumber, p.name, p.phone, piistore.BlobAddress(p.photo), p.newPhone, p.fixedName, piistore.BlobAddress(p.fixedPhoto), p.email}
}

func photoRef(image []byte) string { return "sha256:" + piistore.BlobAddress(image) }

// uploadPhoto makes image the holder's current photo.
func (s *service) uploadPhoto(t *testing.T, id string, image []byte) {
	t.Helper()
	status, res := s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/photo", map[string]any{"image": image})
	require.Equal(t, http.StatusCreated, status, "%v", res)
}

// lockedBuffer collects log lines written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loggedService is the service as `serve` runs it, every log line of it
// (debug level, JSON) going to logs.
type loggedService struct {
	*service
	vars        map[string]string
	env         *environment
	b           *booted
	stopRunners func()
}

func startLoggedService(t *testing.T, ctx context.Context, vars map[string]string, logs io.Writer) *loggedService {
	t.Helper()
	env := &environment{stdout: logs, stderr: logs, getenv: func(k string) string { return vars[k] }}
	b := boot(t, ctx, env)
	key, err := auth.Add(ctx, b.d.pool, auth.Client{Name: "erasure-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	return &loggedService{service: &service{url: b.srv.URL, key: key}, vars: vars, env: env, b: b, stopRunners: b.stopProjections}
}

// pauseProjections stops the projection runner and returns what starts it
// again, so a test can look at the read models exactly as a command left
// them, before any background catch-up.
func (s *loggedService) pauseProjections(t *testing.T, ctx context.Context) (resume func()) {
	t.Helper()
	s.stopRunners()
	return func() {
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		startProjections(runCtx, &wg, s.b.d, s.b.a.runner)
		var once sync.Once
		s.stopRunners = func() { once.Do(func() { stop(); wg.Wait() }) }
		t.Cleanup(s.stopRunners) // before boot's cleanup closes the pool
	}
}

// send makes a request with an Idempotency-Key, so that the first response
// is kept in command_idempotency, and returns the status and raw body.
func (s *service) send(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte: // a file
		r, contentType = bytes.NewReader(b), "text/plain"
	default:
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Idempotency-Key", uuid.NewString())
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, raw
}

// doKeyed is do with an Idempotency-Key.
func (s *service) doKeyed(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, raw := s.send(t, method, path, body)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	return status, out
}

// get returns a GET's status and raw body.
func (s *service) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// registerAndUse registers p, applies with a photo, issues and activates
// the card at a bank counter, reports it lost and found again, and then
// replaces it: the replacement is a pending application for a batch. Every
// command carries an Idempotency-Key, so its response is kept.
func (s *service) registerAndUse(t *testing.T, p testPerson) (id, card string) {
	t.Helper()
	status, reg := s.doKeyed(t, "POST", "/v1/cardholders", map[string]string{
		"id_number": p.idNumber, "name": p.name, "nationality": "CHN", "region_code": "320505", "phone": p.phone,
	})
	require.Equal(t, http.StatusCreated, status, "%v", reg)
	id = reg["cardholder_id"].(string)
	s.uploadPhoto(t, id, p.photo)
	status, res := s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/applications",
		map[string]string{"source": "counter", "bank_code": "102", "photo_ref": photoRef(p.photo)})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	status, res = s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/instant-issuance", map[string]string{"bank_code": "102",
		"account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(t, http.StatusOK, status, "%v", res)
	card = res["card_no"].(string)
	// The phone changed as through a channel's self-service (the admin key
	// may call it without a channel).
	status, res = s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/self-service/phone", map[string]string{"phone": p.newPhone})
	require.Equal(t, http.StatusOK, status, "%v", res)
	// The counter corrects the name and the card's photo (personal data
	// upkeep, issue 16).
	s.uploadPhoto(t, id, p.fixedPhoto)
	for field, value := range map[string]string{"name": p.fixedName, "photo_ref": photoRef(p.fixedPhoto), "email": p.email} {
		status, res = s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/corrections",
			map[string]string{"field": field, "value": value, "reason": "scenario"})
		require.Equal(t, http.StatusOK, status, "%s: %v", field, res)
	}
	for _, step := range []string{"loss", "unlock"} {
		status, res := s.doKeyed(t, "POST", "/v1/cards/"+card+"/"+step, map[string]string{"reason": "scenario"})
		require.Equal(t, http.StatusOK, status, "%s: %v", step, res)
	}
	status, res = s.doKeyed(t, "POST", "/v1/cards/"+card+"/replacement",
		map[string]string{"source": "counter", "bank_code": "102", "reason": "worn"}) // the current photo: the fixed one
	require.Equal(t, http.StatusOK, status, "%v", res)
	// A batch selects what the log shows; $all may hide a commit for a few
	// milliseconds while an older transaction runs, so wait until the
	// replacement is visible (read-your-writes) before batching it.
	status, body := s.get(t, fmt.Sprintf("/v1/cardholders/%s?min_position=%v", id, res["position"]))
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"phone":"`+p.newPhone+`"`, "the read model applies the changed phone")
	require.Contains(t, body, `"name":"`+p.fixedName+`"`, "the read model applies the corrected name")
	return id, card
}

// Erasure end to end: once the erasure call has answered, the erased
// person's personal data is in no table of any module (every table of
// every schema the PostgreSQL catalog lists, every ClickHouse table), in
// no API response and no log line; the projections were stopped during
// the call, so no background catch-up can have done the work. It stays so
// after the projections run again and after every projection is rebuilt;
// the history still verifies and the holder's commands and batch still
// work. The other person is untouched, and no one's personal data is ever
// logged.
func TestErasureEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	logs := &lockedBuffer{}
	pgURL := testpg.NewDatabase(t)
	chURL := chtest.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": pgURL, "CARDLEDGER_CLICKHOUSE_URL": chURL,
		"CARDLEDGER_LOG_LEVEL": "debug", "CARDLEDGER_LOG_FORMAT": "json", "CARDLEDGER_RATE_LIMIT": "0"}
	s := startLoggedService(t, ctx, vars, logs)

	id, _ := s.registerAndUse(t, erasedPerson)
	keptID, _ := s.registerAndUse(t, keptPerson)
	// Refused commands: their problems (kept for replay too) and log lines
	// must not echo the data.
	status, res := s.doKeyed(t, "POST", "/v1/cardholders", map[string]string{"id_number": erasedPerson.idNumber[:17] + "1",
		"name": erasedPerson.name, "nationality": "CHN", "region_code": "320505", "phone": erasedPerson.phone})
	require.Equal(t, http.StatusBadRequest, status, "%v", res)
	status, res = s.doKeyed(t, "POST", "/v1/cardholders", map[string]string{"id_number": keptPerson.idNumber,
		"name": keptPerson.name, "nationality": "CHN", "region_code": "320505"})
	require.Equal(t, http.StatusConflict, status, "%v", res)
	problem, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(problem), keptPerson.idNumber)
	assert.NotContains(t, string(problem), keptPerson.name)
	// Both replacement applications go into a batch: the batch stream and
	// the batch read model now hold both people.
	const batchID = "B-ERASURE-1"
	status, res = s.doKeyed(t, "POST", "/v1/batches", map[string]any{"batch_id": batchID, "filter": map[string]string{"region_code": "320505"}})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	for _, step := range []struct {
		path string
		body map[string]string
	}{{"review", map[string]string{"reviewer": "op-1"}}, {"confirm", map[string]string{"confirmed_by": "chief-1"}}} {
		status, res = s.doKeyed(t, "POST", "/v1/batches/"+batchID+"/"+step.path, step.body)
		require.Equal(t, http.StatusOK, status, "%s: %v", step.path, res)
	}
	status, exported := s.send(t, "POST", "/v1/batches/"+batchID+"/exports/bank_open", nil)
	require.Equal(t, http.StatusOK, status, "%s", exported)
	require.Contains(t, string(exported), erasedPerson.idNumber, "the bank gets the file before the erasure")
	status, members := s.get(t, "/v1/batches/"+batchID+"/members")
	require.Equal(t, http.StatusOK, status, members)
	require.Contains(t, members, id)
	require.Contains(t, members, keptID)
	status, before := s.get(t, "/v1/cardholders/"+id+"/history")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, before, erasedPerson.name, "the history shows personal data before the erasure")
	waitForAnalytics(t, ctx, chURL, 2)
	require.NoError(t, s.b.a.runner.WaitFor(ctx, headOf(t, s)), "every projection holds everything before the erasure")
	held := postgresTexts(t, ctx, pgURL, erasedPerson.secrets())
	for _, table := range []string{"readmodel.cardholders", "batchrm.applications"} {
		require.Contains(t, held, table, "the scan finds the person's data in %s before the erasure", table)
	}

	noneIn := func(what string, texts map[string]string, secrets []string) {
		t.Helper()
		for where, text := range texts {
			var found []string
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					found = append(found, secret)
				}
			}
			assert.Empty(t, found, "%s %s holds personal data: %s", what, where, tail(text, 300))
		}
	}
	responses := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, path := range []string{
			"/v1/cardholders/" + id, "/v1/cardholders/" + id + "/history", "/v1/cardholders/" + id + "/state",
			"/v1/cardholders/" + id + "/progress", "/v1/batches/" + batchID + "/members", "/v1/batches/" + batchID,
		} {
			status, body := s.get(t, path)
			require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
			out[path] = body
		}
		return out
	}

	// The photo is served before the erasure; a copy of its sealed row is
	// kept, as a backup would keep it.
	status, photo := s.get(t, "/v1/cardholders/"+id+"/photo")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, string(erasedPerson.fixedPhoto), photo)
	var (
		gen    int
		sealed []byte
	)
	require.NoError(t, s.b.d.pool.QueryRow(ctx, `SELECT generation, sealed FROM pii_blobs WHERE subject = $1 AND address = $2`,
		id, piistore.BlobAddress(erasedPerson.fixedPhoto)).Scan(&gen, &sealed))

	// The erasure, with no projection running: whatever holds personal
	// data must have dropped it by the time the call answers.
	resume := s.pauseProjections(t, ctx)
	status, res = s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/erasure", nil)
	require.Equal(t, http.StatusOK, status, "%v", res)
	// The photo: no longer served, no longer stored, the kept copy no
	// longer opens (its key is gone); the other person's is untouched.
	status, photo = s.get(t, "/v1/cardholders/"+id+"/photo")
	require.Equal(t, http.StatusGone, status, photo)
	require.Contains(t, photo, `"code":"photo_erased"`)
	var blobs int
	require.NoError(t, s.b.d.pool.QueryRow(ctx, `SELECT count(*) FROM pii_blobs WHERE subject = $1`, id).Scan(&blobs))
	require.Zero(t, blobs)
	_, err = s.b.d.keys.OpenBlob(ctx, id, piistore.BlobAddress(erasedPerson.fixedPhoto), gen, sealed)
	require.ErrorIs(t, err, piistore.ErrBlobErased)
	status, photo = s.get(t, "/v1/cardholders/"+keptID+"/photo")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, string(keptPerson.fixedPhoto), photo)
	noneIn("table at the erasure's answer", postgresTexts(t, ctx, pgURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("response at the erasure's answer", responses(), erasedPerson.secrets())
	status, res = s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/erasure", nil)
	require.Equal(t, http.StatusConflict, status, "%v", res)
	assert.Equal(t, "already_erased", res["code"])
	resume()

	// The batch still works: its file can be had again (with the data
	// erased), and the bank's return, which still names the person's ID
	// number, is accepted and opens both accounts through the holders'
	// commands.
	status, export := s.send(t, "POST", "/v1/batches/"+batchID+"/exports/bank_open", nil)
	require.Equal(t, http.StatusOK, status, "%s", export)
	assert.Contains(t, string(export), keptPerson.fixedName, "the export lists the other person")
	noneIn("export file", map[string]string{"bank_open": string(export)}, erasedPerson.secrets())
	ret, err := simulate.Bank(exported, simulate.Options{})
	require.NoError(t, err)
	status, res = s.doKeyed(t, "POST", "/v1/batches/returns", ret)
	require.Equal(t, http.StatusAccepted, status, "%v", res)
	require.Equal(t, true, res["accepted"], "%v", res)
	job := res["job"].(map[string]any)
	jobPath := fmt.Sprintf("/v1/batches/%s/jobs/%v", batchID, job["job"])
	require.Eventually(t, func() bool {
		_, body := s.get(t, jobPath)
		return strings.Contains(body, `"state":"finished"`)
	}, 30*time.Second, 50*time.Millisecond, "the return's job finishes in the background")
	_, body := s.get(t, jobPath)
	assert.Contains(t, body, `"failures":[]`, "both accounts opened")
	position := headOf(t, s).String()

	status, holder := s.get(t, "/v1/cardholders/"+id+"?min_position="+position)
	require.Equal(t, http.StatusOK, status, holder)
	assert.Contains(t, holder, `"name":"[erased]"`)
	assert.Contains(t, holder, `"status":"account_opened"`)
	noneIn("response", responses(), erasedPerson.secrets())
	_, kept := s.get(t, "/v1/cardholders/"+keptID)
	assert.Contains(t, kept, keptPerson.fixedName, "the other person keeps their data")

	// The cardholder id derives from the ID number (一人一号), so whoever
	// knows the number still finds the record, but only erased data in it.
	status, found := s.get(t, "/v1/cardholders?id_number="+erasedPerson.idNumber)
	assert.Equal(t, http.StatusOK, status)
	noneIn("lookup by ID number", map[string]string{"": found}, erasedPerson.secrets())

	require.NoError(t, s.b.a.runner.WaitFor(ctx, headOf(t, s)))
	assert.Contains(t, postgresTexts(t, ctx, pgURL, []string{keptPerson.fixedName}), "batchrm.applications",
		"the scan finds what is there")
	noneIn("table", postgresTexts(t, ctx, pgURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("clickhouse", clickhouseTexts(t, ctx, chURL, erasedPerson.secrets()), erasedPerson.secrets())

	s.stopRunners()
	var out bytes.Buffer
	cli := &environment{stdout: &out, stderr: logs, getenv: s.env.getenv}
	require.Equal(t, 0, run(ctx, cli, []string{"projections", "list"}))
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] { // below the header
		names = append(names, strings.Fields(line)[0])
	}
	require.Subset(t, names, []string{"readmodel", "batch", "audit"})
	rebuilt := 0
	for _, name := range names {
		// Every projection rebuilds; none may answer "cannot be rebuilt".
		var stderr bytes.Buffer
		one := &environment{stdout: &out, stderr: io.MultiWriter(logs, &stderr), getenv: s.env.getenv}
		require.Equal(t, 0, run(ctx, one, []string{"projections", "rebuild", name}), "%s: %s", name, stderr.String())
		rebuilt++
	}
	for _, name := range []string{"readmodel", "batch", "audit", analytics.ProjectionName} {
		require.Contains(t, out.String(), name+": rebuilt")
	}
	require.GreaterOrEqual(t, rebuilt, 4)
	noneIn("rebuilt table", postgresTexts(t, ctx, pgURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("rebuilt clickhouse", clickhouseTexts(t, ctx, chURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("response after rebuild", responses(), erasedPerson.secrets())
	_, kept = s.get(t, "/v1/cardholders/"+keptID)
	assert.Contains(t, kept, keptPerson.fixedName)

	out.Reset()
	assert.Equal(t, 0, run(ctx, cli, []string{"audit", "verify", "--all"}), "history verifies: %s", out.String())

	noneIn("logs", map[string]string{"": logs.String()}, append(erasedPerson.secrets(), keptPerson.secrets()...))
	require.Contains(t, logs.String(), `"level":"debug"`, "the logger captured everything")
}

// headOf is the position of the last committed event in the service's
// store. It reads the table, not $all's head, which trails a commit while
// an older transaction of the cluster runs: waiting for that head could end
// before the newest event was applied.
func headOf(t *testing.T, s *loggedService) eventstore.Position {
	t.Helper()
	return pgstoretest.CommittedHead(t, s.b.d.pool)
}

// postgresTexts returns, per table, the rows that contain one of secrets,
// as text, of every table, partition and materialized view of every schema
// the catalog lists: whatever a module keeps, under any column type. A
// secret counts as found in clear text, in bytea (hex) and JSON-escaped.
func postgresTexts(t *testing.T, ctx context.Context, url string, secrets []string) map[string]string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SET bytea_output = 'hex'")
	require.NoError(t, err)
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`)
	require.NoError(t, err)
	var tables []pgx.Identifier
	for rows.Next() {
		var schema, table string
		require.NoError(t, rows.Scan(&schema, &table))
		tables = append(tables, pgx.Identifier{schema, table})
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)
	var forms []string
	for _, secret := range secrets {
		forms = append(forms, secret, hex.EncodeToString([]byte(secret)), jsonASCII(secret))
	}
	out := map[string]string{}
	for _, table := range tables {
		q := fmt.Sprintf(`SELECT r::text FROM %s r WHERE EXISTS (SELECT FROM unnest($1::text[]) f WHERE position(f IN r::text) > 0)`, table.Sanitize())
		rows, err := conn.Query(ctx, q, forms)
		require.NoError(t, err, q)
		var hits []string
		for rows.Next() {
			var v string
			require.NoError(t, rows.Scan(&v))
			hits = append(hits, v)
		}
		require.NoError(t, rows.Err())
		if len(hits) > 0 {
			out[table[0]+"."+table[1]] = strings.Join(hits, "\n")
		}
	}
	return out
}

// jsonASCII is s as a JSON encoder that escapes non-ASCII writes it.
func jsonASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// clickhouseTexts returns, per table, how many rows hold each of secrets,
// over every column of every table of the analytics database that
// system.tables lists.
func clickhouseTexts(t *testing.T, ctx context.Context, url string, secrets []string) map[string]string {
	t.Helper()
	conn, err := analytics.Open(ctx, url)
	require.NoError(t, err)
	defer conn.Close()
	tables := map[string][]string{}
	trows, err := conn.Query(ctx, `SELECT name FROM system.tables WHERE database = currentDatabase()`)
	require.NoError(t, err)
	for trows.Next() {
		var name string
		require.NoError(t, trows.Scan(&name))
		tables[name] = nil
	}
	trows.Close()
	require.NotEmpty(t, tables)
	crows, err := conn.Query(ctx, `SELECT table, name FROM system.columns WHERE database = currentDatabase()`)
	require.NoError(t, err)
	for crows.Next() {
		var table, name string
		require.NoError(t, crows.Scan(&table, &name))
		tables[table] = append(tables[table], name)
	}
	crows.Close()
	out := map[string]string{}
	for table, cols := range tables {
		require.NotEmpty(t, cols, "columns of %s", table)
		var conds []string
		for _, c := range cols {
			conds = append(conds, fmt.Sprintf("position(toString(`%s`), ?) > 0", c))
		}
		for _, secret := range secrets {
			args := make([]any, len(cols))
			for i := range args {
				args[i] = secret
			}
			var n uint64
			q := fmt.Sprintf("SELECT count() FROM `%s` WHERE %s", table, strings.Join(conds, " OR "))
			require.NoError(t, conn.QueryRow(ctx, q, args...).Scan(&n), q)
			if n > 0 {
				out[table] += fmt.Sprintf("%d rows hold %q\n", n, secret)
			}
		}
	}
	return out
}

// waitForAnalytics waits until the analytics projection knows holders people.
func waitForAnalytics(t *testing.T, ctx context.Context, url string, holders uint64) {
	t.Helper()
	conn, err := analytics.Open(ctx, url)
	require.NoError(t, err)
	defer conn.Close()
	require.Eventually(t, func() bool {
		var n uint64
		return conn.QueryRow(ctx, "SELECT count() FROM holders FINAL").Scan(&n) == nil && n >= holders
	}, time.Minute, 100*time.Millisecond)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// An erasure whose process died after recording it but before bringing the
// read models past it (the client never retried) is completed when the
// service starts again: the batch read model, which has no runner, is
// caught up at start, and the read model's runner does the rest.
func TestErasureCutShortIsCompletedAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_RATE_LIMIT": "0"}
	s := startLoggedService(t, ctx, vars, io.Discard)
	status, res := s.doKeyed(t, "POST", "/v1/cardholders", map[string]string{"id_number": erasedPerson.idNumber,
		"name": erasedPerson.name, "nationality": "CHN", "region_code": "320505", "phone": erasedPerson.phone})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	id := res["cardholder_id"].(string)
	s.uploadPhoto(t, id, erasedPerson.photo)
	status, res = s.doKeyed(t, "POST", "/v1/cardholders/"+id+"/applications",
		map[string]string{"source": "counter", "bank_code": "102"})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	status, list := s.get(t, "/v1/batches") // catches the batch read model up
	require.Equal(t, http.StatusOK, status, list)
	require.NoError(t, s.b.a.runner.WaitFor(ctx, headOf(t, s)))
	require.Contains(t, postgresTexts(t, ctx, vars["CARDLEDGER_POSTGRES_URL"], erasedPerson.secrets()), "batchrm.applications")

	// The erasure as a process that died right after the append leaves it:
	// recorded, no read model brought past it.
	s.stopRunners()
	svc, err := commands.NewService(s.b.d.store, s.b.d.cfg.IDKey, time.Now)
	require.NoError(t, err)
	_, err = svc.Repository.Update(ctx, id, nil, commands.NewEnvelope(domain.Actor{Client: "erasure-admin"}, "test"),
		func(c *domain.Cardholder) ([]domain.Event, error) { return domain.Decide(c, domain.EraseCardholder{}) })
	require.NoError(t, err)

	boot(t, ctx, s.env) // the restart
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := postgresTexts(t, ctx, vars["CARDLEDGER_POSTGRES_URL"], erasedPerson.secrets())
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for table, rows := range left {
				t.Errorf("%s still holds personal data after the restart: %s", table, tail(rows, 300))
			}
			return
		}
		time.Sleep(50 * time.Millisecond) // polling: the restart catches up in the background
	}
}
