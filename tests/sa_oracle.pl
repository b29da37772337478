#!/usr/bin/perl
# sa_oracle.pl - SpamAssassin itself as the oracle for parapet's agreement
# test (tests/integration/test_sa_agree.py) and for the speed comparison
# (issue 14).  Debian's perl and Mail::SpamAssassin (package spamassassin)
# only.
#
#   sa_oracle.pl --rules DIR [--site DIR] FILE...          one JSON line a message
#   sa_oracle.pl --rules DIR [--site DIR] --time [--passes N] FILE...
#   sa_oracle.pl --rules DIR [--site DIR] --list-rules     NAME TYPE, every rule SA runs
#
# One long-lived Mail::SpamAssassin object, as spamd keeps one:
#   - rules from --rules DIR (a copy of /usr/share/spamassassin);
#   - site config dir --site DIR; without it a fresh directory holding only
#     Debian's plugin loaders /etc/spamassassin/*.pre (not sa-compile.pre:
#     compiled rules would depend on the machine), no local.cf, no
#     65_debian.cf.  The .pre files are needed: they load the Check plugin
#     (no Check, no scan) and the eval plugins the stock rules call;
#   - no user prefs, no user state directory written;
#   - local_tests_only (score set 0, no DNS, no network plugin runs),
#     use_bayes 0, no AWL (use_auto_whitelist 0), TxRep not loaded,
#     required_score 5;
#   - trusted_networks and internal_networks are not set: SpamAssassin infers
#     them from the Received headers, as it does out of the box.
#
# Output: a header line {"oracle":...} with the version and the settings,
# then per message {"file","score","score1","hits","subhits","check_us",
# "parse_us"}: score is SpamAssassin's (score set 0), score1 the same hits
# weighed with score set 1 (network, no Bayes: the set parapet uses), hits
# get_names_of_tests_hit, subhits get_names_of_subtests_hit (the __ rules),
# check_us the microseconds in check(), parse_us in parse().
# --time prints, after the warm-up pass, median and p99 microseconds per
# message (check alone, and parse + check + finish, wall clock) and
# messages/second, by the wall clock and by the process's CPU time (less
# sensitive to a busy machine).
use strict;
use warnings;

use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Getopt::Long qw(GetOptions);
use JSON::PP;
use Time::HiRes qw(time);
use Mail::SpamAssassin;

my ($rules, $site, $time, $list) = (undef, undef, 0, 0);
my $passes = 3;
GetOptions('rules=s' => \$rules, 'site=s' => \$site, 'time' => \$time,
	   'passes=i' => \$passes, 'list-rules' => \$list)
	or die "usage: sa_oracle.pl --rules DIR [--site DIR] [--time [--passes N] | --list-rules] FILE...\n";
die "sa_oracle.pl: --rules DIR is required\n" unless defined $rules && -d $rules;

# site_dir - the site config dir: only the plugin loaders (.pre files)
sub site_dir {
	my $d = tempdir('sa-oracle-site-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	for my $f (glob('/etc/spamassassin/*.pre')) {
		next if $f =~ m{/sa-compile\.pre$};
		copy($f, $d) or die "sa_oracle.pl: copy $f: $!\n";
	}
	return $d;
}
$site //= site_dir();
my $state = tempdir('sa-oracle-state-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my $settings = "use_bayes 0\nuse_bayes_rules 0\nbayes_auto_learn 0\n" .
	"use_auto_whitelist 0\nrequired_score 5\n";
my $sa = Mail::SpamAssassin->new({
	rules_filename => $rules,
	site_rules_filename => $site,
	userprefs_filename => '/dev/null',
	userstate_dir => $state,
	dont_copy_prefs => 1,
	local_tests_only => 1,
	post_config_text => $settings,
	require_rules => 1,
});
$sa->init(0);	# 0: no user preferences
my $conf = $sa->{conf};

# type_name - SpamAssassin's test type as the agreement table names it
sub type_name {
	my ($t) = @_;
	return 'eval' if $t == $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS ||
		$t == $Mail::SpamAssassin::Conf::TYPE_BODY_EVALS ||
		$t == $Mail::SpamAssassin::Conf::TYPE_FULL_EVALS ||
		$t == $Mail::SpamAssassin::Conf::TYPE_RAWBODY_EVALS ||
		$t == $Mail::SpamAssassin::Conf::TYPE_URI_EVALS ||
		$t == $Mail::SpamAssassin::Conf::TYPE_RBL_EVALS;
	return $Mail::SpamAssassin::Conf::TYPE_AS_STRING{$t} // 'other';
}

# runs - does SpamAssassin run the rule in this configuration?  As
# Plugin/Check.pm decides: a zero score is skipped, and eval rules (only
# they: run_eval_tests) with tflags net in a set without network or learn
# without Bayes.  (Metas inherit net from their dependencies in an order
# that varies from run to run, Conf/Parser.pm fix_tflags, and still run.)
sub runs {
	my ($name) = @_;
	return 0 unless $conf->{scores}->{$name};
	my $type = $conf->{test_types}->{$name} // 0;
	return 0 if $type == $Mail::SpamAssassin::Conf::TYPE_EMPTY_TESTS;
	my $tf = $conf->{tflags}->{$name} // '';
	return 0 if type_name($type) eq 'eval' && ($tf =~ /\bnet\b/ || $tf =~ /\blearn\b/);
	return 1;
}

if ($list) {
	for my $name (sort keys %{$conf->{test_types}}) {
		printf "%s %s\n", $name, type_name($conf->{test_types}->{$name})
			if runs($name);
	}
	exit 0;
}

my $json = JSON::PP->new->canonical(1);
print $json->encode({
	oracle => 'Mail::SpamAssassin',
	version => Mail::SpamAssassin::Version(),
	perl => sprintf('%vd', $^V),
	rules_dir => $rules,
	site_dir => $site,
	site_files => [map { s{.*/}{}r } sort glob("$site/*")],
	local_tests_only => JSON::PP::true,
	score_set => $conf->get_score_set(),
	use_bayes => $conf->{use_bayes} ? JSON::PP::true : JSON::PP::false,
	required_score => $conf->{required_score} + 0,
	trusted_networks => 'not set (inferred from Received)',
	plugins => [sort map { ref } @{$sa->{plugins}->{plugins} // []}],
}), "\n" unless $time;

# read_message - the file's bytes, or undef with a warning
sub read_message {
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or do { warn "sa_oracle.pl: $f: $!\n"; return };
	local $/;
	my $s = <$fh>;
	close($fh);
	return $s;
}

# scan - one message: hits, subhits, scores and the times
sub scan {
	my ($text) = @_;
	my $t0 = time;
	my $msg = $sa->parse($text);
	my $t1 = time;
	my $pms = $sa->check($msg);
	my $t2 = time;
	my @hits = grep { length } split(/,/, $pms->get_names_of_tests_hit());
	my @sub = grep { length } split(/,/, $pms->get_names_of_subtests_hit('collapsed'));
	s/\(\d+\)$// for @sub;
	my $score1 = 0;
	$score1 += $conf->{scoreset}->[1]->{$_} // 0 for @hits;
	my $r = {
		score => $pms->get_score() + 0,
		score1 => (sprintf('%.3f', $score1) + 0),
		hits => \@hits,
		subhits => \@sub,
		parse_us => int(($t1 - $t0) * 1e6),
		check_us => int(($t2 - $t1) * 1e6),
	};
	$pms->finish();
	$msg->finish();
	$r->{total_us} = int((time - $t0) * 1e6);
	return $r;
}

# pct - the p-th percentile of sorted values (nearest rank)
sub pct {
	my ($p, @v) = @_;
	my $i = int($p / 100 * @v + 0.5) - 1;
	$i = 0 if $i < 0;
	$i = $#v if $i > $#v;
	return $v[$i];
}

my @texts;
for my $f (@ARGV) {
	my $s = read_message($f);
	push @texts, [$f, $s] if defined $s;
}
if ($time) {
	$passes = 1 if $passes < 1;
	scan($_->[1]) for @texts;	# warm-up: compiled rules, caches
	my (@check, @total);
	my @c0 = times;
	my $t0 = time;
	for (1 .. $passes) {
		for (@texts) {
			my $r = scan($_->[1]);
			push @check, $r->{check_us};
			push @total, $r->{total_us};
		}
	}
	my $wall = time - $t0;
	my @c1 = times;
	my $cpu = ($c1[0] - $c0[0]) + ($c1[1] - $c0[1]);
	@check = sort { $a <=> $b } @check;
	@total = sort { $a <=> $b } @total;
	printf "SpamAssassin %s, %d messages x %d passes\n",
		Mail::SpamAssassin::Version(), scalar @texts, $passes;
	printf "  check():                 median %8d us  p99 %8d us\n",
		pct(50, @check), pct(99, @check);
	printf "  parse+check+finish:      median %8d us  p99 %8d us\n",
		pct(50, @total), pct(99, @total);
	printf "  %.1f messages/s (wall clock), %.1f messages/s of CPU time (%.0f us CPU a message)\n",
		@total / $wall, ($cpu > 0 ? @total / $cpu : 0), $cpu * 1e6 / @total if $wall > 0;
	exit 0;
}
for (@texts) {
	my $r = scan($_->[1]);
	$r->{file} = $_->[0];
	print $json->encode($r), "\n";
}
exit 0;
