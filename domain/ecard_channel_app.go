package domain

// The electronic channels of the open platform (电子渠道开通, issue 15
// item 4): an administrator registers a channel app (the 人社 app, a bank's
// or UnionPay's mobile app) on the channel's own stream, then opens it
// (开通) and may close it again. A registered channel is closed until it is
// opened; a closed channel is refused like a suspended one (channel_closed).
// A channel whose stream holds no registration (made with `cardledger
// clients add --role channel` before channels were registered) keeps
// working as before: only suspension applies to it.

// ChannelKind is which mobile app a channel is (the seed's list).
type ChannelKind string

const (
	ChannelHRSS        ChannelKind = "hrss"         // 人社 app
	ChannelICBC        ChannelKind = "icbc"         // 工商银行
	ChannelABC         ChannelKind = "abc"          // 农业银行
	ChannelBOC         ChannelKind = "boc"          // 中国银行
	ChannelCCB         ChannelKind = "ccb"          // 建设银行
	ChannelPSBC        ChannelKind = "psbc"         // 邮储银行
	ChannelRuralCredit ChannelKind = "rural_credit" // 农信
	ChannelUnionPay    ChannelKind = "unionpay"     // 银联云闪付
)

// ChannelKinds lists every kind in a fixed order.
func ChannelKinds() []ChannelKind {
	return []ChannelKind{ChannelHRSS, ChannelICBC, ChannelABC, ChannelBOC, ChannelCCB, ChannelPSBC, ChannelRuralCredit, ChannelUnionPay}
}

// Valid reports whether k is one of ChannelKinds.
func (k ChannelKind) Valid() bool {
	for _, v := range ChannelKinds() {
		if k == v {
			return true
		}
	}
	return false
}

// Codes of refused channel-app commands.
const (
	CodeChannelRegistered    = "channel_registered"     // 409: the channel app is registered already
	CodeChannelNotRegistered = "channel_not_registered" // 404: open or close of a channel never registered
	CodeChannelAlreadyOpen   = "channel_already_open"   // 409
	CodeChannelAlreadyClosed = "channel_already_closed" // 409
	CodeInvalidChannelKind   = "invalid_channel_kind"   // field code
)

// ChannelAppRegistered: an administrator registered the channel app; the
// channel is closed until ChannelOpened.
type ChannelAppRegistered struct {
	Channel string      `json:"channel"`
	Name    string      `json:"name"`
	Kind    ChannelKind `json:"kind"`
	By      string      `json:"by"`
}

// ChannelOpened (开通) and ChannelClosed: the administrator opened or
// closed the registered channel.
type ChannelOpened struct {
	Channel string `json:"channel"`
	By      string `json:"by"`
	Reason  string `json:"reason,omitempty"`
}

type ChannelClosed struct {
	Channel string `json:"channel"`
	By      string `json:"by"`
	Reason  string `json:"reason"`
}

func (ChannelAppRegistered) EventType() string { return "ChannelAppRegistered" }
func (ChannelOpened) EventType() string        { return "ChannelOpened" }
func (ChannelClosed) EventType() string        { return "ChannelClosed" }

// RegisterChannelApp, OpenChannel and CloseChannel are the administrator's.
type RegisterChannelApp struct {
	Name string
	Kind ChannelKind
	By   string
}

type OpenChannel struct{ By, Reason string }

type CloseChannel struct{ By, Reason string }

func (RegisterChannelApp) CommandName() string { return "register_channel_app" }
func (OpenChannel) CommandName() string        { return "open_channel" }
func (CloseChannel) CommandName() string       { return "close_channel" }

func (RegisterChannelApp) channelCommand() {}
func (OpenChannel) channelCommand()        {}
func (CloseChannel) channelCommand()       {}

// Closed reports whether the channel is registered and not open now.
func (ch *ECardChannel) Closed() bool { return ch.Registered && !ch.Open }

// decideChannelApp decides the channel-app commands; f holds the code's
// validation.
func decideChannelApp(ch *ECardChannel, cmd ChannelCommand, f *fieldErrors) ([]Event, error) {
	switch cmd := cmd.(type) {
	case RegisterChannelApp:
		f.requiredText("name", cmd.Name, maxTextLen)
		if !cmd.Kind.Valid() {
			f.add("kind", CodeInvalidChannelKind, "kind %q is not one of hrss, icbc, abc, boc, ccb, psbc, rural_credit, unionpay", cmd.Kind)
		}
		if err := f.err(); err != nil {
			return nil, err
		}
		if ch.Registered {
			return nil, Conflict(CodeChannelRegistered, "channel %s is registered already", ch.Code)
		}
		return one(ChannelAppRegistered{Channel: ch.Code, Name: cmd.Name, Kind: cmd.Kind, By: cmd.By})
	case OpenChannel:
		f.text("reason", cmd.Reason, maxTextLen)
		if err := f.err(); err != nil {
			return nil, err
		}
		switch {
		case !ch.Registered:
			return nil, NotFound(CodeChannelNotRegistered, "channel %s is not registered", ch.Code)
		case ch.Open:
			return nil, Conflict(CodeChannelAlreadyOpen, "channel %s is open already", ch.Code)
		}
		return one(ChannelOpened{Channel: ch.Code, By: cmd.By, Reason: cmd.Reason})
	case CloseChannel:
		f.requiredText("reason", cmd.Reason, maxTextLen)
		if err := f.err(); err != nil {
			return nil, err
		}
		switch {
		case !ch.Registered:
			return nil, NotFound(CodeChannelNotRegistered, "channel %s is not registered", ch.Code)
		case !ch.Open:
			return nil, Conflict(CodeChannelAlreadyClosed, "channel %s is closed already", ch.Code)
		}
		return one(ChannelClosed{Channel: ch.Code, By: cmd.By, Reason: cmd.Reason})
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "a channel cannot decide " + cmd.CommandName()}
}
