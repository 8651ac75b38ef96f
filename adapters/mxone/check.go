package mxone

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/pbxbatch/pbxbatch/adapters"
	"github.com/pbxbatch/pbxbatch/schemas"
)

var _ adapters.Checker = (*Conn)(nil)

// seriesCache holds each subsystem's number series as read once per
// connection, for the plan-time check of extension numbers.
type seriesCache struct {
	mu sync.Mutex
	m  map[string]seriesRead
}

type seriesRead struct {
	series []numberSeriesBody
	err    error
}

// Check refuses, at plan time, an extension whose number PM would refuse:
// outside every EX number series of its subsystem, or shorter than the
// series' numbers (a spreadsheet dropped its leading zeros: 0040 became
// 40). It judges by the series the target has: a subsystem that the same
// plan creates or changes is left to apply (its series take effect only
// then, and the exchange may add its own).
func (cn *Conn) Check(ctx context.Context, c adapters.Change, planned func(kind, key string) schemas.Record) (string, string, error) {
	// Only a create brings a number the exchange has not accepted yet: the
	// number is part of an extension's key, so an update keeps it.
	if c.Kind != "extension" || c.Action != adapters.Create {
		return "", "", nil
	}
	number, sub := c.Record.String("extensionNumber"), c.Record.String("subsystemName")
	if number == "" || sub == "" || planned("subsystem", sub) != nil {
		return "", "", nil
	}
	series, err := cn.liveSeries(ctx, sub)
	if err != nil {
		return "", "", fmt.Errorf("reading the number series of subsystem %s: %w", sub, err)
	}
	if series == nil {
		return "", "", nil // not a subsystem the target has: the reference check says so
	}
	return "extensionNumber", exSeriesProblem(number, sub, series), nil
}

// exSeriesProblem says why number is not a directory number of the EX
// series, or "" when it is one (the rule PM applies: as many digits as the
// series' numbers, between its first and last).
func exSeriesProblem(number, sub string, series []numberSeriesBody) string {
	var ex []string
	for _, s := range series {
		if s.NumberType != "EX" {
			continue
		}
		if len(number) == len(s.Start) && number >= s.Start && number <= s.End {
			return ""
		}
		ex = append(ex, s.Start+"-"+s.End)
	}
	if len(ex) == 0 {
		return fmt.Sprintf("subsystem %s has no EX number series, so it takes no extension: give it one (numberSeries EX:START-END) first", sub)
	}
	why := fmt.Sprintf("extension number %s is outside the EX number series of subsystem %s (%s)", number, sub, strings.Join(ex, ", "))
	for _, s := range series {
		if s.NumberType != "EX" || len(s.Start) <= len(number) {
			continue
		}
		if padded := strings.Repeat("0", len(s.Start)-len(number)) + number; padded >= s.Start && padded <= s.End {
			return why + fmt.Sprintf("; it has %d digits where the series has %d, as if a spreadsheet dropped its leading zeros: format the column as Text and type %s", len(number), len(s.Start), padded)
		}
	}
	return why
}

// liveSeries reads a subsystem's number series once per connection; nil
// series and no error when the target has no such subsystem.
func (cn *Conn) liveSeries(ctx context.Context, sub string) ([]numberSeriesBody, error) {
	cn.series.mu.Lock()
	defer cn.series.mu.Unlock()
	if r, ok := cn.series.m[sub]; ok {
		return r.series, r.err
	}
	items, err := cn.numberSeries(ctx, sub)
	out := []numberSeriesBody{}
	for _, it := range items {
		end := string(it.End)
		if end == "" {
			end = string(it.Start)
		}
		out = append(out, numberSeriesBody{NumberType: strings.ToUpper(string(it.NumberType)), Start: string(it.Start), End: end})
	}
	if err == nil && len(items) == 0 {
		if _, gerr := cn.Get(ctx, "subsystem", schemas.Record{"subsystemName": sub}); adapters.IsNotFound(gerr) {
			out = nil
		} else if gerr != nil {
			err = gerr
		}
	}
	if ctx.Err() == nil {
		if cn.series.m == nil {
			cn.series.m = map[string]seriesRead{}
		}
		cn.series.m[sub] = seriesRead{out, err}
	}
	return out, err
}
