// Package hwbridge reads Chinese social-security cards (社会保障卡) at the
// service counter through PC/SC (pcsc-lite via github.com/ebfe/scard) and
// verifies their PINs.
//
// # API
//
//	names, err := hwbridge.ListReaders(ctx)        // pick by name, never names[0]
//	r, err := hwbridge.Open(ctx, "ACS ACR39U ICC Reader 00 00")
//	defer r.Close()
//	for {
//		atr, err := r.WaitForCard(ctx)            // blocks until a card is in; connects
//		card, err := r.ReadCard(ctx)               // Card{ATR, Ident (EF05), Holder (EF06)}
//		if err := card.ValidAt(time.Now()); errors.Is(err, hwbridge.ErrCardExpired) { ... }
//		pin, err := hwbridge.ParsePIN(typed)       // PIN never prints its digits
//		res, err := r.VerifyPIN(ctx, pin)          // PINVerified / PINWrong (TriesLeft) / PINBlocked
//		res, err = r.PINState(ctx)                 // the card's counter, without trying a PIN
//		err = r.WaitForRemoval(ctx)                // blocks until the card is out
//	}
//
// Every wait and read takes a context: cancelling it aborts WaitForCard and
// WaitForRemoval at once (SCardCancel); a deadline gives an error matching
// both ErrTimeout and context.DeadlineExceeded. PC/SC cannot cancel a
// command to a card that hangs (SCardTransmit then blocks for good), so
// ReadCard, VerifyPIN and the connect in WaitForCard return at the deadline
// anyway, ending the card session; the stuck call is cleaned up when it
// returns. Give them a deadline at the counter.
//
// # Errors
//
// Callers branch with errors.Is on: ErrNoReader, ErrNoService, ErrNoCard
// (no card session: call WaitForCard), ErrCardRemoved (pulled out or
// swapped mid-session), ErrCardReset, ErrCardMute, ErrNotSocialSecurityCard
// (SELECT of the SSSE AID failed; wraps a *StatusError with the SW),
// ErrPINRequired (6982: holder data protected until VERIFY), ErrMalformed
// (*TLVError: truncated or wrong TLV), ErrInvalidField (*FieldError: bad
// check digit, impossible date, holder data contradicting the citizen ID),
// ErrUnexpectedStatus (*StatusError carrying any other SW), ErrEmptyResponse
// (the driver reported success with no bytes: a crashed driver or card),
// ErrTimeout, ErrClosed. A wrong or blocked PIN is a PINResult, not an
// error.
//
// # Invariants
//
//   - ReadCard returns a complete, validated Card or a zero Card and an
//     error; never a partly filled Card.
//   - A Reader never silently moves to another card: only WaitForCard opens
//     a card session, and once the card is gone (or a transport failure
//     leaves its state unknown) every operation fails with ErrCardRemoved or
//     ErrNoCard until WaitForCard connects again.
//   - Readers are chosen by exact name. One device may show up as several
//     PC/SC readers (vpcd shows two per entry), so position means nothing.
//   - A PIN is never logged, stored or put in an error: PIN formats as
//     "******" under every fmt verb, JSON and slog, and the VERIFY buffer is
//     zeroed after use. Errors about holder fields never repeat their value.
//   - Closing a Reader resets the card, so a verified PIN does not outlive
//     the session.
//   - Each ReadCard runs in one PC/SC transaction (no other program's APDUs
//     in between) and costs 14 APDUs on a card that answers directly: SELECT
//     by AID with P2=0C (a bare SW, so T=0 cards need no GET RESPONSE), then
//     READ RECORD by record number through the short file identifier (no
//     SELECT EF) with Le = the record's specified length (no 6Cxx retry):
//     7 records of EF05 and 6 of EF06. Each record is one TLV; the card
//     refuses multi-record READ RECORD (6A86) and READ BINARY (6981), so 14
//     is the floor. 61xx and 6Cxx are still followed when a card answers
//     them, and counted (Reader.APDUs).
//
// # Card layout
//
// The application is selected by AID 7378312E73682EC9E7BBE1B1A3D5CF
// ("sx1.sh.社会保障" in GBK). EF05 (SFI 5), card identification: 01 card
// identification code (16 bytes), 02 card type, 03 specification version,
// 04 initialising organisation (12 bytes), 05 issue date and 06 expiry date
// (BCD YYYYMMDD), 07 card number (9 characters). EF06 (SFI 6), holder: 08
// social security number (18-character citizen ID, GB 11643 check
// character), 09 name (GBK, 0x00-padded to 30 bytes), 0A sex ("1"/"2"), 0B
// ethnic group (BCD, GB 3304), 0C birthplace (BCD region), 0D birth date
// (BCD). Dates are calendar dates in China time (UTC+8); a card is valid
// through its expiry date.
//
// # Testing
//
// The tests run against a real pcscd with vsmartcard's vpcd driver and the
// emulated card testdata/sscard_vicc.py, started privately by
// scripts/pcsc/start-virtual-card.sh. Without the Debian packages (pcscd
// libpcsclite-dev vsmartcard-vpcd python3-virtualsmartcard
// python3-pycryptodome) they are skipped unless SSCARD_REQUIRE=1.
package hwbridge
