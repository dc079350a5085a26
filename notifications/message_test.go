package notifications

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cardledger/cardledger/domain"
)

// A message keeps its slot whatever else is sent: the holder's e-mail is
// index 1 with or without the SMS, so progress recorded before a crash
// still means the same messages after an opt-out recorded in between.
func TestMessageSlotsAreFixed(t *testing.T) {
	r := Rules{Media: []Medium{SMS, Email}}
	h := domain.NewCardholder("h1")
	h.Profile.Name, h.Profile.Phone, h.Profile.Email = "张三", "13800138000", "z@mail.example.cn"
	ev := domain.CardActivated{CardNo: "A12345678"}
	both := r.Compose("e1", ev, h, "")
	assert.Equal(t, []string{"e1-0", "e1-1"}, []string{both[0].ID, both[1].ID})
	h.NotifyOptOut.SMS = true
	only := r.Compose("e1", ev, h, "")
	assert.Len(t, only, 1)
	assert.Equal(t, 1, only[0].Index)
	assert.Equal(t, "e1-1", only[0].ID)
	h.Erased = true
	assert.Empty(t, r.Compose("e1", ev, h, ""))
}
