package domain

// Decide returns the events that command cmd causes on cardholder c, or an
// *Error saying why it is refused. It is pure: it reads c and cmd only (and
// today's date for the ID-number birth-date check) and never changes c.
func Decide(c *Cardholder, cmd Command) ([]Event, error) {
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "not implemented yet"}
}
