package notifications

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// SMSSimulator plays the SMS gateway (`cardledger simulate sms`): it
// answers POST with 200 and keeps the message, after refusing the first
// FailFirst calls with 503 (a gateway that is down for a while), and lists
// what it kept on GET, oldest first. Each accepted message is also written
// to Log as one JSON line.
type SMSSimulator struct {
	FailFirst int
	Log       io.Writer

	mu       sync.Mutex
	calls    int
	received []SMSRequest
}

// Received is a copy of the accepted messages, oldest first.
func (s *SMSSimulator) Received() []SMSRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMSRequest{}, s.received...)
}

// Calls is how many POSTs arrived, refused ones included.
func (s *SMSSimulator) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *SMSSimulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Received())
	case http.MethodPost:
		var m SMSRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&m); err != nil || m.ID == "" || m.To == "" || m.Text == "" {
			http.Error(w, "want {id, to, text}", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.calls++
		if s.calls <= s.FailFirst {
			s.mu.Unlock()
			http.Error(w, "gateway unavailable (simulated)", http.StatusServiceUnavailable)
			return
		}
		s.received = append(s.received, m)
		if s.Log != nil {
			line, _ := json.Marshal(m)
			_, _ = s.Log.Write(append(line, '\n'))
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"accepted":true}`))
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}
