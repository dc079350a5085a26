package hwbridge

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"
)

// defaultCard is what sscard_vicc.py holds without options.
func defaultCard() Card {
	return Card{
		ATR: []byte{0x3B, 0x95, 0x13, 0x81, 0x01, 0x80, 0x73, 0xFF, 0x01, 0x00, 0x0B},
		Ident: CardIdent{
			IdentCode:   "110100D15600000500000001FFFFFFFF",
			Region:      "110100",
			Type:        "3",
			SpecVersion: "3.00",
			IssuingOrg:  "110100D15600000511010001",
			IssueDate:   Date{2020, time.January, 15},
			ExpiryDate:  Date{2030, time.January, 15},
			Number:      "A12345678",
		},
		Holder: Holder{
			SSN:        "110105199003072311",
			Name:       "张三",
			Sex:        Male,
			Ethnicity:  1,
			Birthplace: "110105",
			BirthDate:  Date{1990, time.March, 7},
		},
	}
}

func assertCard(t *testing.T, got, want Card) {
	t.Helper()
	if !slices.Equal(got.ATR, want.ATR) {
		t.Errorf("ATR = % X, want % X", got.ATR, want.ATR)
	}
	if got.Ident != want.Ident {
		t.Errorf("Ident\n got %+v\nwant %+v", got.Ident, want.Ident)
	}
	if got.Holder != want.Holder {
		t.Errorf("Holder\n got %+v\nwant %+v", got.Holder, want.Holder)
	}
}

// readCounted reads the card and returns how many APDUs the read took.
func readCounted(t *testing.T, r *Reader) (Card, uint64, error) {
	t.Helper()
	before := r.APDUs()
	c, err := r.ReadCard(testCtx(t, 5*time.Second))
	return c, r.APDUs() - before, err
}

func TestReadCardReadsEveryFieldIn14APDUs(t *testing.T) {
	needStack(t)
	r := connected(t, stack.Reader)
	if atr := r.ATR(); !slices.Equal(atr, defaultCard().ATR) {
		t.Errorf("ATR after WaitForCard = % X", atr)
	}
	got, apdus, err := readCounted(t, r)
	if err != nil {
		t.Fatalf("ReadCard: %v", err)
	}
	assertCard(t, got, defaultCard())
	if apdus != readCardAPDUs {
		t.Errorf("read took %d APDUs, want %d", apdus, readCardAPDUs)
	}
}

func TestReadCardT0CardNeedsNoExtraAPDUs(t *testing.T) {
	needStack(t)
	startCard(t, "--t0")
	r := connected(t, stack.Reader2)
	got, apdus, err := readCounted(t, r)
	if err != nil {
		t.Fatalf("ReadCard: %v", err)
	}
	want := defaultCard()
	want.ATR = []byte{0x3B, 0x68, 0x00, 0x00, 0x00, 0x73, 0xC8, 0x40, 0x13, 0x00, 0x90, 0x00}
	assertCard(t, got, want)
	if apdus != readCardAPDUs {
		t.Errorf("read took %d APDUs, want %d", apdus, readCardAPDUs)
	}
}

func TestReadCardDecodesOtherHolder(t *testing.T) {
	needStack(t)
	startCard(t, "--name", "欧阳娜娜", "--ssn", "44030420001231004X", "--sex", "2",
		"--birth", "20001231", "--ethnic", "03", "--birthplace", "440304", "--card-number", "B98765432")
	r := connected(t, stack.Reader2)
	got, err := r.ReadCard(testCtx(t, 5*time.Second))
	if err != nil {
		t.Fatalf("ReadCard: %v", err)
	}
	want := Holder{SSN: "44030420001231004X", Name: "欧阳娜娜", Sex: Female, Ethnicity: 3,
		Birthplace: "440304", BirthDate: Date{2000, time.December, 31}}
	if got.Holder != want {
		t.Errorf("Holder\n got %+v\nwant %+v", got.Holder, want)
	}
	if got.Ident.Number != "B98765432" {
		t.Errorf("Number = %q", got.Ident.Number)
	}
}

func TestReadCardRejectsInvalidData(t *testing.T) {
	needStack(t)
	cases := []struct {
		name  string
		args  []string
		field string
	}{
		{"wrong citizen ID check digit", []string{"--ssn", "110105199003072312"}, "SSN"},
		{"sex differs from citizen ID", []string{"--sex", "2"}, "Sex"},
		{"birth date differs from citizen ID", []string{"--birth", "19900308"}, "BirthDate"},
		{"no such issue date", []string{"--issue-date", "20200230"}, "IssueDate"},
		{"expiry before issue", []string{"--expiry-date", "20190101"}, "ExpiryDate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			startCard(t, c.args...)
			r := connected(t, stack.Reader2)
			got, err := r.ReadCard(testCtx(t, 5*time.Second))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, ErrInvalidField) {
				t.Fatalf("ReadCard error = %v, want *FieldError for %s", err, c.field)
			}
			if !isZeroCard(got) {
				t.Errorf("ReadCard returned a partial card with its error: %+v", got)
			}
		})
	}
}

func isZeroCard(c Card) bool {
	return c.ATR == nil && c.Ident == (CardIdent{}) && c.Holder == (Holder{})
}

func TestVerifyPINReportsCardRetryCounter(t *testing.T) {
	needStack(t)
	r := connected(t, stack.Reader)
	ctx := testCtx(t, 10*time.Second)
	right, _ := ParsePIN("123456")
	wrong, _ := ParsePIN("000000")

	steps := []struct {
		name string
		do   func() (PINResult, error)
		want PINResult
	}{
		{"state before", func() (PINResult, error) { return r.PINState(ctx) }, PINResult{PINUnverified, 3}},
		{"wrong PIN", func() (PINResult, error) { return r.VerifyPIN(ctx, wrong) }, PINResult{PINWrong, 2}},
		{"state after wrong", func() (PINResult, error) { return r.PINState(ctx) }, PINResult{PINUnverified, 2}},
		{"right PIN", func() (PINResult, error) { return r.VerifyPIN(ctx, right) }, PINResult{PINVerified, -1}},
		{"state after right", func() (PINResult, error) { return r.PINState(ctx) }, PINResult{PINVerified, -1}},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Fatalf("%s: %v, %v; want %v", s.name, got, err, s.want)
		}
	}
	// Closing resets the card: the verified state ends, the counter is full.
	r.Close()
	r = connected(t, stack.Reader)
	if got, err := r.PINState(ctx); err != nil || got != (PINResult{PINUnverified, 3}) {
		t.Fatalf("state after reconnect: %v, %v; want unverified, 3 tries", got, err)
	}
}

// TestPINBlocking uses its own card: blocking is permanent.
func TestPINBlocking(t *testing.T) {
	needStack(t)
	startCard(t, "--protect-holder", "--pin", "654321", "--name", "李四")
	r := connected(t, stack.Reader2)
	ctx := testCtx(t, 10*time.Second)
	right, _ := ParsePIN("654321")
	wrong, _ := ParsePIN("123456")

	_, err := r.ReadCard(ctx)
	var se *StatusError
	if !errors.Is(err, ErrPINRequired) || !errors.As(err, &se) || se.SW != 0x6982 {
		t.Fatalf("ReadCard before VERIFY: %v, want ErrPINRequired (6982)", err)
	}
	if res, err := r.VerifyPIN(ctx, right); err != nil || res.Status != PINVerified {
		t.Fatalf("right PIN: %v, %v", res, err)
	}
	got, err := r.ReadCard(ctx)
	if err != nil || got.Holder.Name != "李四" {
		t.Fatalf("ReadCard after VERIFY: %+v, %v", got.Holder, err)
	}
	for left := 2; left >= 0; left-- {
		res, err := r.VerifyPIN(ctx, wrong)
		if err != nil || res != (PINResult{PINWrong, left}) || res.Blocked() != (left == 0) {
			t.Fatalf("wrong PIN: %v, %v; want wrong, %d tries left", res, err, left)
		}
	}
	if res, err := r.VerifyPIN(ctx, right); err != nil || res != (PINResult{PINBlocked, 0}) || !res.Blocked() {
		t.Fatalf("right PIN on a blocked card: %v, %v; want blocked", res, err)
	}
	if res, err := r.PINState(ctx); err != nil || res.Status != PINBlocked {
		t.Fatalf("PIN state: %v, %v; want blocked", res, err)
	}
	if _, err := r.ReadCard(ctx); !errors.Is(err, ErrPINRequired) {
		t.Fatalf("ReadCard on blocked card: %v, want ErrPINRequired", err)
	}
}

func TestNotSocialSecurityCard(t *testing.T) {
	needStack(t)
	startCard(t, "--no-ssse")
	r := connected(t, stack.Reader2)
	ctx := testCtx(t, 5*time.Second)
	got, err := r.ReadCard(ctx)
	var se *StatusError
	if !errors.Is(err, ErrNotSocialSecurityCard) || !errors.As(err, &se) || se.SW != 0x6A82 {
		t.Fatalf("ReadCard: %v, want ErrNotSocialSecurityCard with SW 6A82", err)
	}
	if !isZeroCard(got) {
		t.Errorf("partial card returned: %+v", got)
	}
	pin, _ := ParsePIN("123456")
	if _, err := r.VerifyPIN(ctx, pin); !errors.Is(err, ErrNotSocialSecurityCard) {
		t.Fatalf("VerifyPIN: %v, want ErrNotSocialSecurityCard", err)
	}
	// Not a transport failure: the session stays usable.
	if _, err := r.ReadCard(ctx); !errors.Is(err, ErrNotSocialSecurityCard) {
		t.Fatalf("second ReadCard: %v", err)
	}
}

func TestCardPulledMidRead(t *testing.T) {
	needStack(t)
	// SELECT and 4 records answer; the 6th APDU finds the card gone.
	e := startCard(t, "--remove-after", "5")
	r := connected(t, stack.Reader2)
	ctx := testCtx(t, 10*time.Second)
	got, err := r.ReadCard(ctx)
	if !errors.Is(err, ErrCardRemoved) {
		t.Fatalf("ReadCard: %v, want ErrCardRemoved", err)
	}
	if !isZeroCard(got) {
		t.Errorf("partial card returned: %+v", got)
	}
	if _, err := r.ReadCard(ctx); !errors.Is(err, ErrNoCard) {
		t.Fatalf("ReadCard after removal: %v, want ErrNoCard", err)
	}
	if err := r.WaitForRemoval(ctx); err != nil {
		t.Fatalf("WaitForRemoval: %v", err)
	}
	e.toggle(t)
	if _, err := r.WaitForCard(ctx); err != nil {
		t.Fatalf("WaitForCard after re-insertion: %v", err)
	}
	if got, err := r.ReadCard(ctx); err != nil || got.Ident.Number != "A12345678" {
		t.Fatalf("ReadCard after re-insertion: %v", err)
	}
}

func TestRemovalAndInsertionEvents(t *testing.T) {
	needStack(t)
	r := connected(t, stack.Reader)
	ctx := testCtx(t, 15*time.Second)
	if _, err := r.ReadCard(ctx); err != nil {
		t.Fatal(err)
	}
	pull := func() {
		if err := syscall.Kill(stack.CardPID, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}

	// Pulled between two reads: the session knows it lost the card.
	pull()
	waitSlot(t, stack.Reader, false)
	if _, err := r.ReadCard(ctx); !errors.Is(err, ErrCardRemoved) {
		t.Fatalf("ReadCard on pulled card: %v, want ErrCardRemoved", err)
	}
	pull()
	start := time.Now()
	if _, err := r.WaitForCard(ctx); err != nil {
		t.Fatalf("WaitForCard: %v", err)
	}
	t.Logf("insertion seen after %v", time.Since(start))

	// WaitForRemoval returns when the card leaves, not before.
	done := make(chan error, 1)
	go func() { done <- r.WaitForRemoval(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("WaitForRemoval returned with the card in: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	start = time.Now()
	pull()
	if err := <-done; err != nil {
		t.Fatalf("WaitForRemoval: %v", err)
	}
	t.Logf("removal seen after %v", time.Since(start))
	if _, err := r.ReadCard(ctx); !errors.Is(err, ErrNoCard) {
		t.Fatalf("ReadCard after removal: %v, want ErrNoCard", err)
	}
	pull()
	if _, err := r.WaitForCard(ctx); err != nil {
		t.Fatalf("WaitForCard: %v", err)
	}
	if _, err := r.ReadCard(ctx); err != nil {
		t.Fatalf("ReadCard after re-insertion: %v", err)
	}
}

func TestEmptyResponse(t *testing.T) {
	needStack(t)
	startCard(t, "--empty-ins", "B2") // READ RECORD crashes the card
	r := connected(t, stack.Reader2)
	ctx := testCtx(t, 10*time.Second)
	got, err := r.ReadCard(ctx)
	if !errors.Is(err, ErrEmptyResponse) {
		t.Fatalf("ReadCard: %v, want ErrEmptyResponse", err)
	}
	if !isZeroCard(got) {
		t.Errorf("partial card returned: %+v", got)
	}
	// The session was dropped; the card (still in) works after reconnecting.
	if _, err := r.PINState(ctx); !errors.Is(err, ErrNoCard) {
		t.Fatalf("PINState after crash: %v, want ErrNoCard", err)
	}
	if _, err := r.WaitForCard(ctx); err != nil {
		t.Fatalf("WaitForCard after crash: %v", err)
	}
	if res, err := r.PINState(ctx); err != nil || res != (PINResult{PINUnverified, 3}) {
		t.Fatalf("PINState after reconnect: %v, %v", res, err)
	}
}

func TestNoReader(t *testing.T) {
	needStack(t)
	if _, err := Open(testCtx(t, 5*time.Second), "No Such Reader 00 00"); !errors.Is(err, ErrNoReader) {
		t.Fatalf("Open: %v, want ErrNoReader", err)
	}
}

func TestNoCard(t *testing.T) {
	needStack(t)
	r := openReader(t, stack.Reader2) // nothing in the second slot
	if _, err := r.ReadCard(testCtx(t, 5*time.Second)); !errors.Is(err, ErrNoCard) {
		t.Fatalf("ReadCard: %v, want ErrNoCard", err)
	}
	pin, _ := ParsePIN("123456")
	if _, err := r.VerifyPIN(testCtx(t, 5*time.Second), pin); !errors.Is(err, ErrNoCard) {
		t.Fatalf("VerifyPIN: %v, want ErrNoCard", err)
	}

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := r.WaitForCard(ctx)
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitForCard: %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned %v after a 300ms deadline", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := r.WaitForCard(ctx)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("WaitForCard: %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned %v after cancel at 200ms", d)
		}
	})
	t.Run("close", func(t *testing.T) {
		r := openReader(t, stack.Reader2)
		time.AfterFunc(200*time.Millisecond, func() { r.Close() })
		if _, err := r.WaitForCard(testCtx(t, 5*time.Second)); !errors.Is(err, ErrClosed) {
			t.Fatalf("WaitForCard: %v, want ErrClosed", err)
		}
	})
}

func TestExpiry(t *testing.T) {
	needStack(t)
	r := connected(t, stack.Reader)
	c, err := r.ReadCard(testCtx(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cst := time.FixedZone("CST", 8*3600)
	cases := []struct {
		now     time.Time
		expired bool
	}{
		{time.Date(2025, 6, 1, 12, 0, 0, 0, cst), false},
		{time.Date(2030, 1, 15, 23, 59, 59, 0, cst), false},   // valid through the expiry date
		{time.Date(2030, 1, 15, 16, 0, 0, 0, time.UTC), true}, // already 16 January in China
		{time.Date(2031, 1, 1, 0, 0, 0, 0, cst), true},
	}
	for _, tc := range cases {
		err := c.ValidAt(tc.now)
		if c.Expired(tc.now) != tc.expired || errors.Is(err, ErrCardExpired) != tc.expired {
			t.Errorf("at %v: Expired=%v ValidAt=%v, want expired=%v", tc.now, c.Expired(tc.now), err, tc.expired)
		}
	}
}

func BenchmarkReadCard(b *testing.B) {
	needStack(b)
	r := connected(b, stack.Reader)
	ctx := context.Background()
	before := r.APDUs()
	for b.Loop() {
		if _, err := r.ReadCard(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.APDUs()-before)/float64(b.N), "APDUs/read")
}

func TestCardResetByAnotherProgram(t *testing.T) {
	needStack(t)
	r := connected(t, stack.Reader)
	ctx := testCtx(t, 5*time.Second)
	pin, _ := ParsePIN("123456")
	if res, err := r.VerifyPIN(ctx, pin); err != nil || res.Status != PINVerified {
		t.Fatalf("VerifyPIN: %v, %v", res, err)
	}
	// Another program resets the card: our verified state is gone, and the
	// session must say so rather than carry on.
	other := connected(t, stack.Reader)
	other.Close()
	if _, err := r.PINState(ctx); !errors.Is(err, ErrCardReset) {
		t.Fatalf("PINState after reset by another program: %v, want ErrCardReset", err)
	}
	if _, err := r.WaitForCard(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := r.PINState(ctx); err != nil || res != (PINResult{PINUnverified, 3}) {
		t.Fatalf("PINState after reconnect: %v, %v; want unverified, 3 tries", res, err)
	}
}

func TestHungCardTimesOut(t *testing.T) {
	needStack(t)
	e := startCard(t)
	r := connected(t, stack.Reader2)
	if err := e.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			e.Signal(syscall.SIGCONT)
		}
	}
	defer resume()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := r.ReadCard(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadCard on a hung card: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v with a 500ms deadline", d)
	}
	if !isZeroCard(got) {
		t.Errorf("partial card returned: %+v", got)
	}
	if _, err := r.ReadCard(testCtx(t, time.Second)); !errors.Is(err, ErrNoCard) {
		t.Fatalf("ReadCard after the hang: %v, want ErrNoCard", err)
	}
	// The card comes back to life: a new session works.
	resume()
	ctx2 := testCtx(t, 10*time.Second)
	if _, err := r.WaitForCard(ctx2); err != nil {
		t.Fatalf("WaitForCard: %v", err)
	}
	if c, err := r.ReadCard(ctx2); err != nil || c.Ident.Number != "A12345678" {
		t.Fatalf("ReadCard after recovery: %v", err)
	}
}

// BenchmarkPINState is a 2-APDU operation (SELECT, VERIFY without data):
// next to BenchmarkReadCard it separates the per-APDU cost from the
// per-operation cost (transaction begin and end).
func BenchmarkPINState(b *testing.B) {
	needStack(b)
	r := connected(b, stack.Reader)
	ctx := context.Background()
	before := r.APDUs()
	for b.Loop() {
		if _, err := r.PINState(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.APDUs()-before)/float64(b.N), "APDUs/op")
}
