// Package notifications tells holders by SMS and e-mail what happened to
// their card, and the agency's operators when a batch needs them
// (docs/notifications.md): card ready at a pick-up point, card activated,
// card lost (formal or temporary), batch items refused.
//
// The notifier is one more consumer of the global log, hosted by the
// outbound projections runner beside the deliveries (the outbox): one
// active instance (the runner's advisory lock), catch-up and live
// following, and a checkpoint of its own, not a second queue. For each
// event after the checkpoint it composes the messages (Compose: pure, from
// the event and the holder's stream), sends each through its medium —
// SMTP for e-mail, an HTTP gateway for SMS — and only then records it
// sent; a message that failed MaxAttempts times is dead-lettered. The
// checkpoint is (event position, messages of the next event already
// done), so a crash repeats at most the one message in flight: delivery is
// at least once, and every message carries an id (event id and index) a
// gateway or mailbox can deduplicate on.
//
// What a message carries is the least the holder needs: the masked name
// (domain.MaskName: surname and one asterisk per further character), the last four digits
// of the card number and the pick-up point; never the ID number, birth
// date or full name. Recipients (phone, e-mail) are read from the holder's
// stream when the message is sent, so an opt-out, a corrected address or
// an erasure recorded meanwhile is honoured; an erased holder gets
// nothing. Neither recipients nor texts are stored: the dead-letter list
// names the event, kind and medium only.
package notifications
