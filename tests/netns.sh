# netns_pair NS_A NS_B NET: two network namespaces of this run's own, joined
# by a veth pair: NS_A holds NET.1 on dev cftva<pid>, NS_B holds NET.2 on dev
# cftvb<pid> (NET is the first three octets, as "10.199.0").  Used by tests
# and benchmarks that need a link with no other traffic and no address of
# the host's; the caller deletes the namespaces (ip netns del) when done.
# Returns non-zero when they cannot be made (not root, no ip(8)).
netns_pair() {
	local a=$1 b=$2 net=$3
	NETNS_DEV_A=cftva$$ NETNS_DEV_B=cftvb$$
	ip netns add "$a" 2>/dev/null || return 1
	ip netns add "$b" &&
		ip link add "$NETNS_DEV_A" type veth peer name "$NETNS_DEV_B" &&
		ip link set "$NETNS_DEV_A" netns "$a" &&
		ip link set "$NETNS_DEV_B" netns "$b" &&
		ip -n "$a" addr add "$net.1/24" dev "$NETNS_DEV_A" &&
		ip -n "$b" addr add "$net.2/24" dev "$NETNS_DEV_B" &&
		ip -n "$a" link set "$NETNS_DEV_A" up &&
		ip -n "$b" link set "$NETNS_DEV_B" up &&
		ip -n "$a" link set lo up && ip -n "$b" link set lo up
}
