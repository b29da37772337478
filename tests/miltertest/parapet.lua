-- parapet.lua - drive a running parapet over the milter protocol with
-- miltertest(8) (the MTA side as Sendmail's libmilter speaks it) and check
-- the verdicts and header edits of SPEC §4.
--
-- Run by tests/miltertest/run.sh, which starts parapet with a test rule
-- set and passes:
--   -D socket=unix:/path    where parapet listens
-- The rules it expects (run.sh writes them):
--   body   TEST_REJECT /XREJECTX/          score 20   (>= reject_score 15)
--   header TEST_SUBJ   Subject =~ /viagra/i score 6   (>= tag_score 5)
--   body   TEST_QUAR   /XQUARX/            score 12   (>= quarantine_score 10)
-- and authserv_id = mx.test, on_error = accept, skip_authenticated = yes.
--
-- Every check prints "ok - ..." or "not ok - ...".  A scenario whose
-- protocol exchange fails counts as one failed check and the next scenario
-- starts on a fresh connection.  The last line is
--   RESULT passed=N failed=M
-- (run.sh adds these to its own counts) and the script error()s when any
-- check failed, so miltertest exits non-zero.

if socket == nil then
	error("parapet.lua: run with -D socket=unix:/path (or inet:PORT@HOST)")
end

mt.set_timeout(10)

local AUTHSERV = "mx.test"
local REJECT_TEXT = "Message rejected as spam"
local passed, failed = 0, 0
local first_failure = nil

-- check - count and print one assertion
local function check(cond, what)
	if cond then
		passed = passed + 1
		print("ok - " .. what)
	else
		failed = failed + 1
		print("not ok - " .. what)
		if first_failure == nil then first_failure = what end
	end
end

-- reply_name - a milter reply code as text, for messages
local function reply_name(r)
	local names = {
		[SMFIR_CONTINUE] = "SMFIR_CONTINUE", [SMFIR_ACCEPT] = "SMFIR_ACCEPT",
		[SMFIR_REJECT] = "SMFIR_REJECT", [SMFIR_TEMPFAIL] = "SMFIR_TEMPFAIL",
		[SMFIR_DISCARD] = "SMFIR_DISCARD", [SMFIR_REPLYCODE] = "SMFIR_REPLYCODE",
	}
	if SMFIR_SKIP ~= nil then names[SMFIR_SKIP] = "SMFIR_SKIP" end
	if r == nil then return "nil" end
	return names[r] or string.format("%q (%s)", string.char(math.floor(r)), tostring(r))
end

-- the connection of the running scenario, closed if the scenario fails
local current = nil

-- open - connect and negotiate, offering the given actions (nil: all);
-- errors out on failure
local function open(actions)
	local conn = mt.connect(socket, 50, 0.1)
	if conn == nil then error("mt.connect(" .. socket .. ") failed") end
	current = conn
	-- miltertest takes (version, steps, actions), whatever its manual says
	local err = mt.negotiate(conn, nil, nil, actions)
	if err ~= nil then error("mt.negotiate() failed: " .. err) end
	return conn
end

-- close - polite QUIT and close
local function close(conn)
	mt.disconnect(conn)
	current = nil
end

-- step - one protocol step that must be answered with "continue"; steps
-- parapet negotiated away (SMFIP_NO*) are skipped, as an MTA would
local function step(conn, what, noopt, fn, ...)
	if noopt ~= nil and mt.test_option(conn, noopt) then return end
	local err = fn(conn, ...)
	if err ~= nil then error(what .. " failed: " .. err) end
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE then
		error(what .. ": reply " .. reply_name(r) .. ", want SMFIR_CONTINUE")
	end
end

-- session - connect info and HELO, once per connection
local function session(conn)
	step(conn, "conninfo", SMFIP_NOCONNECT, mt.conninfo,
	     "client.example.test", "192.0.2.10")
	step(conn, "helo", SMFIP_NOHELO, mt.helo, "client.example.test")
end

-- envelope - {i}, MAIL and RCPTs of one transaction; auth: the SASL
-- login ({auth_authen}) or nil
local function envelope(conn, qid, from, rcpts, auth)
	-- Postfix sends the queue id as {i} with MAIL (milter_mail_macros)
	if auth ~= nil then
		mt.macro(conn, SMFIC_MAIL, "i", qid, "{mail_addr}", from, "{auth_authen}", auth)
	else
		mt.macro(conn, SMFIC_MAIL, "i", qid, "{mail_addr}", from)
	end
	step(conn, "mailfrom", SMFIP_NOMAIL, mt.mailfrom, "<" .. from .. ">")
	for _, r in ipairs(rcpts) do
		step(conn, "rcptto " .. r, SMFIP_NORCPT, mt.rcptto, "<" .. r .. ">")
	end
end

-- headers - send {name, value} pairs, then end of headers
local function headers(conn, list)
	for _, h in ipairs(list) do
		step(conn, "header " .. h[1], SMFIP_NOHDRS, mt.header, h[1], h[2])
	end
	step(conn, "eoh", SMFIP_NOEOH, mt.eoh)
end

-- body - send each string as its own body chunk
local function body(conn, chunks)
	for i, c in ipairs(chunks) do
		step(conn, "body chunk " .. i, SMFIP_NOBODY, mt.bodystring, c)
	end
end

-- eom - end of message; returns the final reply
local function eom(conn)
	local err = mt.eom(conn)
	if err ~= nil then error("mt.eom() failed: " .. err) end
	return mt.getreply(conn)
end

-- added - value of the only added (or inserted) header called name, with
-- the SMFIP_HDR_LEADSPC space taken off; nil if none.  Checks that there is
-- exactly one and that its leading space matches the negotiation.
local function added(conn, name, tag)
	local v = mt.getheader(conn, name, 0)
	if v == nil then return nil end
	check(mt.getheader(conn, name, 1) == nil,
	      tag .. ": " .. name .. " added only once")
	if mt.test_option(conn, SMFIP_HDR_LEADSPC) then
		-- the milter owns the space after the colon now; without it
		-- Postfix writes "Name:value"
		check(v:match("^[ \t]") ~= nil,
		      tag .. ": " .. name .. " value starts with a space (SMFIP_HDR_LEADSPC negotiated)")
		v = v:gsub("^[ \t]", "", 1)
	end
	return v
end

-- accepted - the final reply lets the message through
local function accepted(r)
	return r == SMFIR_ACCEPT or r == SMFIR_CONTINUE
end

-- check_spam_headers - the SPEC §4 header set for an accepted message
local function check_spam_headers(conn, tag, want_yes, want_score, want_test)
	local status = added(conn, "X-Spam-Status", tag)
	check(status ~= nil, tag .. ": X-Spam-Status added")
	status = status or ""
	local yn, score, req, tests =
		status:match("^(%a+), score=(%-?%d+%.%d) required=(%-?%d+%.%d) tests=(.*)$")
	check(yn ~= nil, tag .. ": X-Spam-Status has SpamAssassin's format: " .. status)
	check(yn == (want_yes and "Yes" or "No"),
	      tag .. ": X-Spam-Status says " .. (want_yes and "Yes" or "No"))
	check(req == "5.0", tag .. ": X-Spam-Status required=5.0 (tag_score)")
	if want_score ~= nil then
		check(score == want_score,
		      tag .. ": score " .. tostring(score) .. ", want " .. want_score)
	end
	if want_test ~= nil then
		local flat = (tests or ""):gsub("%s", "")
		local found = false
		for t in flat:gmatch("[^,]+") do
			if t == want_test then found = true end
		end
		check(found, tag .. ": tests= lists " .. want_test)
	end

	local xscore = added(conn, "X-Spam-Score", tag)
	check(xscore ~= nil, tag .. ": X-Spam-Score added")
	check(xscore ~= nil and xscore == score,
	      tag .. ": X-Spam-Score (" .. tostring(xscore) ..
	      ") equals the X-Spam-Status score (" .. tostring(score) .. ")")

	local flag = added(conn, "X-Spam-Flag", tag)
	if want_yes then
		check(flag == "YES", tag .. ": X-Spam-Flag: YES added")
	else
		check(flag == nil, tag .. ": no X-Spam-Flag added below tag_score")
	end

	-- Authentication-Results goes on top (smfi_insheader index 0)
	local ar = mt.getheader(conn, "Authentication-Results", 0)
	check(ar ~= nil and mt.eom_check(conn, MT_HDRINSERT,
	      "Authentication-Results", ar, 0),
	      tag .. ": Authentication-Results inserted at index 0")
	check(not mt.eom_check(conn, MT_HDRADD, "Authentication-Results"),
	      tag .. ": Authentication-Results not appended at the bottom")
	ar = (ar or ""):gsub("^[ \t]", "", 1)
	check(ar:sub(1, #AUTHSERV + 1) == AUTHSERV .. ";",
	      tag .. ": Authentication-Results starts with authserv-id " ..
	      AUTHSERV .. ": " .. ar)
	check(not mt.eom_check(conn, MT_SMTPREPLY, "550"),
	      tag .. ": no 550 reply on an accepted message")
end

-- a plain message, built fresh for each use
local function ham_headers(subject)
	return {
		{ "Received", "from client.example.test (client.example.test [192.0.2.10])\n\tby mx.test with ESMTP id MTQID; Mon, 20 Nov 2023 10:00:00 +0000" },
		{ "From", "Alice Example <alice@example.test>" },
		{ "To", "bob@example.net" },
		{ "Subject", subject },
		{ "Date", "Mon, 20 Nov 2023 10:00:00 +0000" },
		{ "Message-ID", "<mt-" .. tostring(math.random(1, 1e9)) .. "@example.test>" },
		{ "MIME-Version", "1.0" },
		{ "Content-Type", "text/plain; charset=us-ascii" },
	}
end

local HAM_BODY = {
	"Hello Bob,\r\n\r\nthe minutes of Tuesday's meeting are below.\r\n",
	"1. Budget: approved.\r\n2. Next meeting: Thursday.\r\n",
	"\r\nRegards,\r\nAlice\r\n",
}

local scenarios = {}

-- negotiation: the actions parapet needs for its header edits
scenarios[#scenarios + 1] = { "negotiate", function()
	local conn = open()
	check(mt.test_action(conn, SMFIF_ADDHDRS),
	      "negotiate: SMFIF_ADDHDRS requested (X-Spam-*, Authentication-Results)")
	check(mt.test_action(conn, SMFIF_CHGHDRS),
	      "negotiate: SMFIF_CHGHDRS requested (removing forged headers)")
	check(not mt.test_option(conn, SMFIP_NOHDRS),
	      "negotiate: header step kept (rules need the headers)")
	check(not mt.test_option(conn, SMFIP_NOBODY),
	      "negotiate: body step kept (rules need the body)")
	-- SPEC §8: no reply is awaited where parapet never answers early
	check(mt.test_option(conn, SMFIP_NR_HDR),
	      "negotiate: SMFIP_NR_HDR requested (one round trip per header saved, SPEC §8)")
	local opts = {}
	for _, n in ipairs({ "NOCONNECT", "NOHELO", "NOMAIL", "NORCPT", "NOHDRS",
			     "NOEOH", "NOBODY", "NOUNKNOWN", "NODATA", "NR_CONN",
			     "NR_HELO", "NR_MAIL", "NR_RCPT", "NR_DATA", "NR_HDR",
			     "NR_EOH", "NR_BODY", "NR_UNKN", "HDR_LEADSPC", "SKIP" }) do
		if _G["SMFIP_" .. n] ~= nil and mt.test_option(conn, _G["SMFIP_" .. n]) then
			opts[#opts + 1] = n
		end
	end
	print("# negotiated protocol options: " .. table.concat(opts, " "))
	close(conn)
end }

-- (a) ham: accepted with X-Spam-Status, X-Spam-Score, Authentication-Results
scenarios[#scenarios + 1] = { "ham", function()
	local conn = open()
	session(conn)
	envelope(conn, "MTHAM1", "alice@example.test", { "bob@example.net" })
	headers(conn, ham_headers("Minutes of Tuesday's meeting"))
	body(conn, HAM_BODY)
	local r = eom(conn)
	check(accepted(r), "ham: EOM reply is accept/continue (got " .. reply_name(r) .. ")")
	check_spam_headers(conn, "ham", false, "0.0", nil)
	check(not mt.eom_check(conn, MT_HDRDELETE),
	      "ham: no header removed when none was forged")
	close(conn)
end }

-- tagged: a Subject rule above tag_score but below reject_score
scenarios[#scenarios + 1] = { "tagged", function()
	local conn = open()
	session(conn)
	envelope(conn, "MTTAG1", "promo@example.test", { "bob@example.net" })
	headers(conn, ham_headers("Cheap VIAGRA, today only"))
	body(conn, { "Buy now.\r\n", "Unsubscribe below.\r\n" })
	local r = eom(conn)
	check(accepted(r), "tagged: EOM reply is accept/continue (got " .. reply_name(r) .. ")")
	check_spam_headers(conn, "tagged", true, "6.0", "TEST_SUBJ")
	close(conn)
end }

-- (b) forged X-Spam-* and our own Authentication-Results are removed,
-- a foreign Authentication-Results is kept
scenarios[#scenarios + 1] = { "forged", function()
	local conn = open()
	session(conn)
	envelope(conn, "MTFORGE1", "alice@example.test", { "bob@example.net" })
	local h = ham_headers("Minutes, with forged filter headers")
	table.insert(h, 2, { "Authentication-Results", "other.example; dkim=pass header.d=example.test" })
	table.insert(h, 3, { "Authentication-Results", AUTHSERV .. "; spf=pass smtp.mailfrom=example.test" })
	h[#h + 1] = { "X-Spam-Flag", "YES" }
	h[#h + 1] = { "X-Spam-Status", "No, score=-50.0 required=5.0 tests=FORGED" }
	h[#h + 1] = { "X-Spam-Score", "-50.0" }
	h[#h + 1] = { "X-Spam-Flag", "NO" }
	headers(conn, h)
	body(conn, HAM_BODY)
	local r = eom(conn)
	check(accepted(r), "forged: EOM reply is accept/continue (got " .. reply_name(r) .. ")")
	check(mt.eom_check(conn, MT_HDRCHANGE, "X-Spam-Flag", ""),
	      "forged: X-Spam-Flag changed to empty (deleted)")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag", 1),
	      "forged: X-Spam-Flag #1 deleted")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag", 2),
	      "forged: X-Spam-Flag #2 deleted")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Status", 1),
	      "forged: X-Spam-Status #1 deleted")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Score", 1),
	      "forged: X-Spam-Score #1 deleted")
	check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 2),
	      "forged: Authentication-Results #2 (authserv-id " .. AUTHSERV .. ") deleted")
	check(not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 1),
	      "forged: Authentication-Results #1 (other.example) kept (RFC 8601 §5)")
	check(not mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag", 3),
	      "forged: no deletion beyond the copies that arrived")
	-- the forged values must not leak into the verdict
	check_spam_headers(conn, "forged", false, "0.0", nil)
	close(conn)
end }

-- a SASL-authenticated client (skip_authenticated = yes): not scanned, so
-- a message that would be rejected is accepted and nothing is added, but
-- the forged X-Spam-* and our own Authentication-Results are removed at
-- their indices (issue 12)
scenarios[#scenarios + 1] = { "authenticated", function()
	local conn = open()
	session(conn)
	envelope(conn, "MTAUTH1", "alice@example.test", { "bob@example.net" }, "alice")
	local h = ham_headers("Forged by an account")
	table.insert(h, 2, { "Authentication-Results", "other.example; dkim=pass header.d=example.test" })
	table.insert(h, 3, { "Authentication-Results", AUTHSERV .. "; dmarc=pass header.from=bank.example" })
	h[#h + 1] = { "X-Spam-Flag", "NO" }
	h[#h + 1] = { "X-Spam-Score", "-50.0" }
	headers(conn, h)
	body(conn, { "the code is XREJECTX\r\n" })
	local r = eom(conn)
	check(accepted(r), "authenticated: accepted unscanned although it scores 20 (got " ..
	      reply_name(r) .. ")")
	check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 2),
	      "authenticated: Authentication-Results #2 (authserv-id " .. AUTHSERV .. ") deleted")
	check(not mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results", 1),
	      "authenticated: Authentication-Results #1 (other.example) kept")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Flag", 1),
	      "authenticated: X-Spam-Flag #1 deleted")
	check(mt.eom_check(conn, MT_HDRDELETE, "X-Spam-Score", 1),
	      "authenticated: X-Spam-Score #1 deleted")
	check(not mt.eom_check(conn, MT_HDRADD) and not mt.eom_check(conn, MT_HDRINSERT),
	      "authenticated: no header added (not scanned)")
	close(conn)
end }

-- a header edit the MTA refuses must not cancel the quarantine of a message
-- over quarantine_score (issue 12).  The MTA here does not offer
-- SMFIF_CHGHDRS, so removing the forged X-Spam-Flag fails; run.sh sets
-- on_error = accept, so the message is delivered and must be quarantined
scenarios[#scenarios + 1] = { "quarantine-edit-refused", function()
	local conn = open(SMFIF_ADDHDRS + SMFIF_QUARANTINE)
	check(not mt.test_action(conn, SMFIF_CHGHDRS),
	      "quarantine-edit-refused: (setup) SMFIF_CHGHDRS not negotiated")
	session(conn)
	envelope(conn, "MTQUAR1", "promo@example.test", { "bob@example.net" })
	local h = ham_headers("An offer")
	h[#h + 1] = { "X-Spam-Flag", "NO" }
	headers(conn, h)
	body(conn, { "Quarantine marker XQUARX\r\n" })
	local r = eom(conn)
	check(accepted(r), "quarantine-edit-refused: accepted (on_error = accept; got " ..
	      reply_name(r) .. ")")
	check(mt.eom_check(conn, MT_QUARANTINE),
	      "quarantine-edit-refused: quarantine requested although a header edit was refused")
	check(mt.getheader(conn, "X-Spam-Status", 0) ~= nil,
	      "quarantine-edit-refused: the edits after the refused one are still made")
	close(conn)
end }

-- rejected message, then a clean one on the same connection: the verdict
-- of one transaction must not leak into the next (STYLE §3)
local function reject_then_ham(tag, qid, chunks)
	local conn = open()
	session(conn)
	envelope(conn, qid, "spammer@example.test",
		 { "bob@example.net", "carol@example.net" })
	headers(conn, ham_headers("An offer"))
	body(conn, chunks)
	local r = eom(conn)
	check(r == SMFIR_REPLYCODE,
	      tag .. ": EOM reply is SMFIR_REPLYCODE (got " .. reply_name(r) .. ")")
	-- the reply carries the queue id as a reference (reject_text's %q)
	local want = REJECT_TEXT .. " (ref " .. qid .. ")"
	check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1", want),
	      tag .. ": reply is 550 5.7.1 " .. want)
	check(not mt.eom_check(conn, MT_HDRADD, "X-Spam-Status"),
	      tag .. ": no X-Spam-Status on a rejected message")

	envelope(conn, qid .. "B", "alice@example.test", { "bob@example.net" })
	headers(conn, ham_headers("Minutes again"))
	body(conn, HAM_BODY)
	r = eom(conn)
	check(accepted(r),
	      tag .. ": next message on the connection accepted (got " .. reply_name(r) .. ")")
	check_spam_headers(conn, tag .. "/next", false, "0.0", nil)
	close(conn)
end

-- (c) body rule with reject score
scenarios[#scenarios + 1] = { "reject", function()
	reject_then_ham("reject", "MTREJ1", {
		"Dear friend,\r\n",
		"the code is XREJECTX, act now.\r\n",
		"Bye\r\n",
	})
end }

-- the same marker cut across two body chunks: the body is one text
scenarios[#scenarios + 1] = { "reject-split", function()
	reject_then_ham("reject-split", "MTREJ2", {
		"Dear friend,\r\nthe code is XREJ",
		"ECTX, act now.\r\n",
	})
end }

-- abort: a spammy transaction aborted after its body; the next one on the
-- connection starts clean
scenarios[#scenarios + 1] = { "abort", function()
	local conn = open()
	session(conn)
	envelope(conn, "MTABORT1", "promo@example.test", { "bob@example.net" })
	headers(conn, ham_headers("viagra viagra"))
	body(conn, { "XREJECTX\r\n" })
	local err = mt.abort(conn)
	if err ~= nil then error("mt.abort() failed: " .. err) end
	envelope(conn, "MTABORT2", "alice@example.test", { "bob@example.net" })
	headers(conn, ham_headers("Minutes after an abort"))
	body(conn, HAM_BODY)
	local r = eom(conn)
	check(accepted(r), "abort: message after an aborted one accepted (got " ..
	      reply_name(r) .. ")")
	check_spam_headers(conn, "abort/next", false, "0.0", nil)
	close(conn)
end }

-- a client that drops the connection mid-message must not hurt the daemon
scenarios[#scenarios + 1] = { "drop", function()
	local conn = open()
	session(conn)
	envelope(conn, "MTDROP1", "alice@example.test", { "bob@example.net" })
	headers(conn, ham_headers("Dropped"))
	body(conn, { "half a message\r\n" })
	mt.disconnect(conn, false)
	current = nil
	conn = open()
	session(conn)
	envelope(conn, "MTDROP2", "alice@example.test", { "bob@example.net" })
	headers(conn, ham_headers("After a dropped connection"))
	body(conn, HAM_BODY)
	local r = eom(conn)
	check(accepted(r), "drop: new connection after an abrupt close accepted (got " ..
	      reply_name(r) .. ")")
	close(conn)
end }

for _, s in ipairs(scenarios) do
	print("# scenario " .. s[1])
	local ok, err = pcall(s[2])
	if not ok then
		check(false, s[1] .. ": protocol exchange failed: " .. tostring(err))
		if current ~= nil then
			pcall(mt.disconnect, current, false)
			current = nil
		end
	end
end

print(string.format("RESULT passed=%d failed=%d", passed, failed))
if failed > 0 then
	error(string.format("%d of %d miltertest checks failed; first: %s",
			    failed, passed + failed, first_failure))
end
