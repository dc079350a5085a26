package notifications_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/notifications"
	"github.com/cardledger/cardledger/projections"
)

var testIDKey = []byte("test-cardholder-id-key-0123456789")

// mailbox is an SMTP server inside the test process (emersion/go-smtp)
// that keeps every message it accepts.
type mailbox struct {
	addr *net.TCPAddr
	mu   sync.Mutex
	got  []received
}

type received struct {
	From, To string
	Header   mail.Header
	Subject  string
	Body     string
}

func newMailbox(t testing.TB) *mailbox {
	t.Helper()
	m := &mailbox{}
	s := smtp.NewServer(m)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m.addr = l.Addr().(*net.TCPAddr)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return m
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{box: m}, nil }

func (m *mailbox) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received{}, m.got...)
}

type session struct {
	box      *mailbox
	from, to string
}

func (s *session) Reset()        { s.from, s.to = "", "" }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		return fmt.Errorf("body is not base64: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.got = append(s.box.got, received{From: s.from, To: s.to, Header: msg.Header, Subject: subject, Body: string(body)})
	return nil
}

// env is a ledger (PostgreSQL store sealed by piistore, the command
// service), an in-process mailbox and an SMS simulator.
type env struct {
	t      testing.TB
	ctx    context.Context
	store  eventstore.Store
	pool   *pgxpool.Pool
	svc    *commands.Service
	box    *mailbox
	sms    *notifications.SMSSimulator
	smsURL string
	log    *logrus.Logger
}

func newEnv(t testing.TB, failFirst int) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	url := testpg.NewDatabase(t)
	raw := pgstoretest.OpenURL(t, url)
	pool := testpg.NewPool(t, url)
	require.NoError(t, piistore.Migrate(ctx, pool))
	mk, err := piistore.NewMasterKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	keys, err := piistore.NewKeyring(pool, mk, nil, piistore.KeyringOptions{})
	require.NoError(t, err)
	store := piistore.New(raw, keys)
	require.NoError(t, notifications.Migrate(ctx, pool, eventstore.Start))
	svc, err := commands.NewService(store, testIDKey, time.Now)
	require.NoError(t, err)
	sim := &notifications.SMSSimulator{FailFirst: failFirst}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	log := logrus.New()
	log.SetOutput(io.Discard)
	return &env{t: t, ctx: ctx, store: store, pool: pool, svc: svc, box: newMailbox(t), sms: sim, smsURL: srv.URL + "/messages", log: log}
}

var pickupPoints = map[string]string{"pt-gulou": "鼓楼区社保服务中心"}

const operatorMailbox = "ops@agency.example.cn"

// projection is a notifier over the test's SMS simulator and SMTP server.
func (e *env) projection(opts notifications.Options) *notifications.Projection {
	email := notifications.SMTP{Host: "127.0.0.1", Port: e.box.addr.Port, From: "noreply@card.example.cn",
		Clock: func() time.Time { return time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC) }}
	return notifications.NewProjection(e.store, e.pool,
		notifications.Rules{PickupPoints: pickupPoints, OperatorEmail: operatorMailbox},
		notifications.NewSMSGateway(e.smsURL, 5*time.Second), email, opts, e.log)
}

// notifier runs the notifier on a runner of its own until the test ends.
func (e *env) notifier(opts notifications.Options) *projections.Runner {
	e.t.Helper()
	p := e.projection(opts)
	r := projections.NewRunner(e.store, e.pool, e.log).
		WithOptions(projections.Options{LockPoll: 50 * time.Millisecond, Retry: 50 * time.Millisecond}).Add(p)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

// caughtUp waits until the notifier passed everything appended so far.
func (e *env) caughtUp(r *projections.Runner) {
	e.t.Helper()
	head, _, err := e.store.Head(e.ctx)
	require.NoError(e.t, err)
	require.NoError(e.t, r.WaitFor(e.ctx, head.Position))
}

func idNumber(n int) string {
	first := fmt.Sprintf("32050519900307%03d", n%1000)
	return first + string(domain.IDCheckChar(first))
}

func (e *env) envelope() commands.Envelope {
	return commands.NewEnvelope(domain.Actor{Client: "counter-gulou", Operator: "op-7"}, "")
}

func (e *env) holder(cmd domain.CardholderCommand, id string) {
	e.t.Helper()
	_, err := e.svc.Cardholder.Handle(e.ctx, commands.CardholderCommand{Envelope: e.envelope(), CardholderID: id, Command: cmd})
	require.NoError(e.t, err)
}

func (e *env) card(cmd domain.CardholderCommand, cardNo string) {
	e.t.Helper()
	_, err := e.svc.Card.Handle(e.ctx, commands.CardCommand{Envelope: e.envelope(), CardNo: cardNo, Command: cmd})
	require.NoError(e.t, err)
}

// person registers a holder with a phone and an e-mail address and takes
// the card through the counter's steps up to produced; it returns the
// holder's id and card number.
func (e *env) person(n int, name, phone, email string) (string, string) {
	e.t.Helper()
	res, err := e.svc.Register.Handle(e.ctx, commands.Register{Envelope: e.envelope(), Cardholder: domain.RegisterCardholder{
		IDNumber: idNumber(n), Name: name, Nationality: "CHN", RegionCode: "320505", Phone: phone}})
	require.NoError(e.t, err)
	id := res.CardholderID
	if email != "" {
		e.holder(domain.CorrectPersonalData{Field: domain.CorrectEmail, Value: email, Reason: "实名邮箱 issued"}, id)
	}
	e.holder(domain.ApplyForCard{ApplicationID: fmt.Sprintf("app-%d", n), Source: domain.SourceCounter, BankCode: "102"}, id)
	e.holder(domain.OpenBankAccount{BankCode: "102", AccountNo: fmt.Sprintf("62220200000000%04d", n)}, id)
	cardNo, err := e.svc.CardNumbers.Reserve(e.ctx, e.envelope(), id)
	require.NoError(e.t, err)
	e.holder(domain.AssignCardNumber{CardNo: cardNo}, id)
	e.card(domain.RecordProduction{CardNo: cardNo, ChipID: fmt.Sprintf("%032X", n), Vendor: "acme"}, cardNo)
	return id, cardNo
}
