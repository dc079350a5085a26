package commands

import "github.com/labstack/echo/v4"

// EnvelopeFrom is the envelope a command route builds from its request
// (client, channel, scope, operator, correlation), for modules outside
// this package that run the channel check (Service.ChannelRead) on a
// request of their own, such as the e-card login confirmation.
func EnvelopeFrom(c echo.Context) (Envelope, error) { return envelopeFrom(c) }
