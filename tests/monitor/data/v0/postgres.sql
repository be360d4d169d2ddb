--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: @SCHEMA@; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA @SCHEMA@;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alert_deliveries; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.alert_deliveries (
    delivery_id text NOT NULL,
    alert_id text NOT NULL,
    notifier text NOT NULL,
    event text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL,
    attempts bigint NOT NULL,
    last_error text,
    next_attempt timestamp with time zone NOT NULL,
    created timestamp with time zone NOT NULL,
    sent timestamp with time zone
);


--
-- Name: alerts; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.alerts (
    alert_id text NOT NULL,
    rule_id text NOT NULL,
    rule_name text NOT NULL,
    model text NOT NULL,
    pair_key text NOT NULL,
    state text NOT NULL,
    started timestamp with time zone NOT NULL,
    last_window_end timestamp with time zone NOT NULL,
    resolved timestamp with time zone,
    windows_firing bigint NOT NULL,
    evidence text NOT NULL,
    acknowledged timestamp with time zone,
    acknowledged_by text,
    silenced_until timestamp with time zone,
    created timestamp with time zone NOT NULL,
    updated timestamp with time zone NOT NULL
);


--
-- Name: api_keys; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.api_keys (
    key_id text NOT NULL,
    key_hash text NOT NULL,
    name text NOT NULL,
    scopes text NOT NULL,
    created timestamp with time zone NOT NULL,
    revoked timestamp with time zone,
    models text
);


--
-- Name: feature_names; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.feature_names (
    model text NOT NULL,
    name text NOT NULL
);


--
-- Name: labels_seen; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.labels_seen (
    model text NOT NULL,
    label text NOT NULL
);


--
-- Name: outcomes; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.outcomes (
    model text DEFAULT ''::text NOT NULL,
    prediction_id text NOT NULL,
    label text NOT NULL,
    ts timestamp with time zone NOT NULL
);


--
-- Name: predictions; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.predictions (
    model text NOT NULL,
    prediction_id text NOT NULL,
    model_version text DEFAULT ''::text NOT NULL,
    ts timestamp with time zone NOT NULL,
    prediction text NOT NULL,
    score double precision,
    features text,
    s_race text,
    s_sex text
);


--
-- Name: rules; Type: TABLE; Schema: @SCHEMA@; Owner: -
--

CREATE TABLE @SCHEMA@.rules (
    rule_id text NOT NULL,
    name text NOT NULL,
    model text NOT NULL,
    kind text NOT NULL,
    spec text NOT NULL,
    created timestamp with time zone NOT NULL,
    updated timestamp with time zone NOT NULL,
    evaluated_until timestamp with time zone
);


--
-- Data for Name: alert_deliveries; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.alert_deliveries (delivery_id, alert_id, notifier, event, payload, status, attempts, last_error, next_attempt, created, sent) FROM stdin;
\.


--
-- Data for Name: alerts; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.alerts (alert_id, rule_id, rule_name, model, pair_key, state, started, last_window_end, resolved, windows_firing, evidence, acknowledged, acknowledged_by, silenced_until, created, updated) FROM stdin;
\.


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.api_keys (key_id, key_hash, name, scopes, created, revoked, models) FROM stdin;
0d5f9f24ee19	bdcc16589d15f029131240f5f24267fadbd870804e43e69ca8763ccdcadb3467	old reader	read	2026-12-07 19:08:31.665316+00	\N	\N
\.


--
-- Data for Name: feature_names; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.feature_names (model, name) FROM stdin;
credit	age
credit	region
loans	age
loans	region
\.


--
-- Data for Name: labels_seen; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.labels_seen (model, label) FROM stdin;
credit	0
credit	1
loans	0
loans	1
credit	nan
	0
	1
\.


--
-- Data for Name: outcomes; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.outcomes (model, prediction_id, label, ts) FROM stdin;
	p0	1	2024-05-05 00:00:00+00
credit	p2	0	2024-05-05 00:00:00+00
loans	p4	0	2024-05-05 00:00:00+00
	p6	1	2024-05-05 00:00:00+00
loans	p8	0	2024-05-05 00:00:00+00
credit	p10	1	2024-05-05 00:00:00+00
	p12	1	2024-05-05 00:00:00+00
credit	p14	0	2024-05-05 00:00:00+00
loans	p16	1	2024-05-05 00:00:00+00
	p18	1	2024-05-05 00:00:00+00
loans	p20	1	2024-05-05 00:00:00+00
credit	p22	0	2024-05-05 00:00:00+00
	p24	0	2024-05-05 00:00:00+00
credit	p26	0	2024-05-05 00:00:00+00
loans	p28	0	2024-05-05 00:00:00+00
	p30	1	2024-05-05 00:00:00+00
loans	p32	1	2024-05-05 00:00:00+00
credit	p34	0	2024-05-05 00:00:00+00
	p36	0	2024-05-05 00:00:00+00
credit	p38	1	2024-05-05 00:00:00+00
loans	p40	1	2024-05-05 00:00:00+00
	p42	0	2024-05-05 00:00:00+00
loans	p44	0	2024-05-05 00:00:00+00
credit	p46	1	2024-05-05 00:00:00+00
	p48	0	2024-05-05 00:00:00+00
credit	p50	0	2024-05-05 00:00:00+00
loans	p52	1	2024-05-05 00:00:00+00
	p54	0	2024-05-05 00:00:00+00
loans	p56	0	2024-05-05 00:00:00+00
credit	p58	1	2024-05-05 00:00:00+00
	p60	1	2024-05-05 00:00:00+00
credit	p62	1	2024-05-05 00:00:00+00
loans	p64	0	2024-05-05 00:00:00+00
	p66	0	2024-05-05 00:00:00+00
loans	p68	0	2024-05-05 00:00:00+00
credit	p70	0	2024-05-05 00:00:00+00
	p72	1	2024-05-05 00:00:00+00
credit	p74	0	2024-05-05 00:00:00+00
loans	p76	1	2024-05-05 00:00:00+00
	p78	0	2024-05-05 00:00:00+00
loans	p80	1	2024-05-05 00:00:00+00
credit	p82	1	2024-05-05 00:00:00+00
	p84	0	2024-05-05 00:00:00+00
credit	p86	0	2024-05-05 00:00:00+00
loans	p88	1	2024-05-05 00:00:00+00
	p90	1	2024-05-05 00:00:00+00
loans	p92	0	2024-05-05 00:00:00+00
credit	p94	1	2024-05-05 00:00:00+00
	p96	1	2024-05-05 00:00:00+00
credit	p98	1	2024-05-05 00:00:00+00
loans	p100	0	2024-05-05 00:00:00+00
	p102	1	2024-05-05 00:00:00+00
loans	p104	0	2024-05-05 00:00:00+00
credit	p106	1	2024-05-05 00:00:00+00
	p108	0	2024-05-05 00:00:00+00
credit	p110	1	2024-05-05 00:00:00+00
loans	p112	0	2024-05-05 00:00:00+00
	p114	0	2024-05-05 00:00:00+00
loans	p116	1	2024-05-05 00:00:00+00
credit	p118	1	2024-05-05 00:00:00+00
	p120	0	2024-05-05 00:00:00+00
credit	p122	1	2024-05-05 00:00:00+00
loans	p124	0	2024-05-05 00:00:00+00
	p126	1	2024-05-05 00:00:00+00
loans	p128	0	2024-05-05 00:00:00+00
credit	p130	1	2024-05-05 00:00:00+00
	p132	0	2024-05-05 00:00:00+00
credit	p134	0	2024-05-05 00:00:00+00
loans	p136	1	2024-05-05 00:00:00+00
	p138	0	2024-05-05 00:00:00+00
loans	p140	0	2024-05-05 00:00:00+00
credit	p142	1	2024-05-05 00:00:00+00
	p144	1	2024-05-05 00:00:00+00
credit	p146	1	2024-05-05 00:00:00+00
loans	p148	1	2024-05-05 00:00:00+00
	p150	0	2024-05-05 00:00:00+00
loans	p152	1	2024-05-05 00:00:00+00
credit	p154	0	2024-05-05 00:00:00+00
	p156	0	2024-05-05 00:00:00+00
credit	p158	0	2024-05-05 00:00:00+00
loans	p160	0	2024-05-05 00:00:00+00
	p162	0	2024-05-05 00:00:00+00
loans	p164	1	2024-05-05 00:00:00+00
credit	p166	0	2024-05-05 00:00:00+00
	p168	1	2024-05-05 00:00:00+00
credit	p170	0	2024-05-05 00:00:00+00
loans	p172	0	2024-05-05 00:00:00+00
	p174	0	2024-05-05 00:00:00+00
loans	p176	0	2024-05-05 00:00:00+00
credit	p178	1	2024-05-05 00:00:00+00
	p180	0	2024-05-05 00:00:00+00
credit	p182	1	2024-05-05 00:00:00+00
loans	p184	1	2024-05-05 00:00:00+00
	p186	1	2024-05-05 00:00:00+00
loans	p188	0	2024-05-05 00:00:00+00
credit	p190	0	2024-05-05 00:00:00+00
	p192	1	2024-05-05 00:00:00+00
credit	p194	1	2024-05-05 00:00:00+00
loans	p196	1	2024-05-05 00:00:00+00
	p198	1	2024-05-05 00:00:00+00
loans	p200	1	2024-05-05 00:00:00+00
credit	p202	0	2024-05-05 00:00:00+00
	p204	1	2024-05-05 00:00:00+00
credit	p206	1	2024-05-05 00:00:00+00
loans	p208	1	2024-05-05 00:00:00+00
	p210	0	2024-05-05 00:00:00+00
loans	p212	1	2024-05-05 00:00:00+00
credit	p214	1	2024-05-05 00:00:00+00
	p216	1	2024-05-05 00:00:00+00
credit	p218	0	2024-05-05 00:00:00+00
loans	p220	1	2024-05-05 00:00:00+00
	p222	0	2024-05-05 00:00:00+00
loans	p224	1	2024-05-05 00:00:00+00
credit	p226	0	2024-05-05 00:00:00+00
	p228	1	2024-05-05 00:00:00+00
credit	p230	0	2024-05-05 00:00:00+00
loans	p232	0	2024-05-05 00:00:00+00
	p234	0	2024-05-05 00:00:00+00
loans	p236	1	2024-05-05 00:00:00+00
credit	p238	1	2024-05-05 00:00:00+00
	p240	0	2024-05-05 00:00:00+00
credit	p242	1	2024-05-05 00:00:00+00
loans	p244	1	2024-05-05 00:00:00+00
	p246	0	2024-05-05 00:00:00+00
loans	p248	1	2024-05-05 00:00:00+00
credit	p250	1	2024-05-05 00:00:00+00
	p252	1	2024-05-05 00:00:00+00
credit	p254	1	2024-05-05 00:00:00+00
loans	p256	1	2024-05-05 00:00:00+00
	p258	0	2024-05-05 00:00:00+00
loans	p260	1	2024-05-05 00:00:00+00
credit	p262	1	2024-05-05 00:00:00+00
	p264	0	2024-05-05 00:00:00+00
credit	p266	0	2024-05-05 00:00:00+00
loans	p268	0	2024-05-05 00:00:00+00
	p270	1	2024-05-05 00:00:00+00
loans	p272	0	2024-05-05 00:00:00+00
credit	p274	0	2024-05-05 00:00:00+00
	p276	1	2024-05-05 00:00:00+00
credit	p278	0	2024-05-05 00:00:00+00
loans	p280	1	2024-05-05 00:00:00+00
	p282	0	2024-05-05 00:00:00+00
loans	p284	1	2024-05-05 00:00:00+00
credit	p286	0	2024-05-05 00:00:00+00
	p288	0	2024-05-05 00:00:00+00
credit	p290	0	2024-05-05 00:00:00+00
loans	p292	1	2024-05-05 00:00:00+00
	p294	0	2024-05-05 00:00:00+00
loans	p296	0	2024-05-05 00:00:00+00
credit	p298	1	2024-05-05 00:00:00+00
	p300	1	2024-05-05 00:00:00+00
credit	p302	0	2024-05-05 00:00:00+00
loans	p304	1	2024-05-05 00:00:00+00
	p306	0	2024-05-05 00:00:00+00
loans	p308	0	2024-05-05 00:00:00+00
credit	p310	0	2024-05-05 00:00:00+00
	p312	0	2024-05-05 00:00:00+00
credit	p314	1	2024-05-05 00:00:00+00
loans	p316	1	2024-05-05 00:00:00+00
	p318	1	2024-05-05 00:00:00+00
loans	p320	0	2024-05-05 00:00:00+00
credit	p322	1	2024-05-05 00:00:00+00
	p324	0	2024-05-05 00:00:00+00
credit	p326	1	2024-05-05 00:00:00+00
loans	p328	0	2024-05-05 00:00:00+00
	p330	0	2024-05-05 00:00:00+00
loans	p332	1	2024-05-05 00:00:00+00
credit	p334	0	2024-05-05 00:00:00+00
	p336	0	2024-05-05 00:00:00+00
credit	p338	1	2024-05-05 00:00:00+00
loans	p340	1	2024-05-05 00:00:00+00
	p342	1	2024-05-05 00:00:00+00
loans	p344	0	2024-05-05 00:00:00+00
credit	p346	1	2024-05-05 00:00:00+00
	p348	1	2024-05-05 00:00:00+00
credit	p350	1	2024-05-05 00:00:00+00
loans	p352	0	2024-05-05 00:00:00+00
	p354	0	2024-05-05 00:00:00+00
loans	p356	0	2024-05-05 00:00:00+00
credit	p358	1	2024-05-05 00:00:00+00
	p360	0	2024-05-05 00:00:00+00
credit	p362	1	2024-05-05 00:00:00+00
loans	p364	1	2024-05-05 00:00:00+00
	p366	0	2024-05-05 00:00:00+00
loans	p368	1	2024-05-05 00:00:00+00
credit	p370	0	2024-05-05 00:00:00+00
	p372	0	2024-05-05 00:00:00+00
credit	p374	1	2024-05-05 00:00:00+00
loans	p376	0	2024-05-05 00:00:00+00
	p378	1	2024-05-05 00:00:00+00
loans	p380	0	2024-05-05 00:00:00+00
credit	p382	1	2024-05-05 00:00:00+00
	p384	1	2024-05-05 00:00:00+00
credit	p386	0	2024-05-05 00:00:00+00
loans	p388	1	2024-05-05 00:00:00+00
	p390	1	2024-05-05 00:00:00+00
loans	p392	0	2024-05-05 00:00:00+00
credit	p394	1	2024-05-05 00:00:00+00
	p396	0	2024-05-05 00:00:00+00
credit	p398	0	2024-05-05 00:00:00+00
credit	orphan-a	1	2024-05-05 00:00:00+00
	orphan-b	0	2024-05-05 00:00:00+00
\.


--
-- Data for Name: predictions; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.predictions (model, prediction_id, model_version, ts, prediction, score, features, s_race, s_sex) FROM stdin;
loans	p0	v2	2024-05-01 00:00:00+00	0	\N	\N	\N	F
credit	p1		2024-05-01 00:11:00+00	0	0.776	{"age":78,"region":"s"}	b	M
credit	p2		2024-05-01 00:22:00+00	1	0.874	{"age":34,"region":"n"}	c	F
credit	p3	v2	2024-05-01 00:33:00+00	1	0.821	{"age":27,"region":"s"}	a	M
loans	p4		2024-05-01 00:44:00+00	0	0.303	{"age":75,"region":"n"}	b	F
credit	p5		2024-05-01 00:55:00+00	1	0.255	\N	c	M
credit	p6	v2	2024-05-01 01:06:00+00	0	0.505	{"age":59,"region":"n"}	a	F
credit	p7		2024-05-01 01:17:00+00	0	0.793	{"age":57,"region":"s"}	\N	M
loans	p8		2024-05-01 01:28:00+00	0	0.989	{"age":51,"region":"n"}	c	F
credit	p9	v2	2024-05-01 01:39:00+00	1	\N	{"age":33,"region":"s"}	a	M
credit	p10		2024-05-01 01:50:00+00	0	0.044	\N	b	F
credit	p11		2024-05-01 02:01:00+00	1	0.515	{"age":87,"region":"s"}	c	M
loans	p12	v2	2024-05-01 02:12:00+00	0	0.629	{"age":51,"region":"n"}	a	F
credit	p13		2024-05-01 02:23:00+00	0	0.497	{"age":45,"region":"s"}	b	M
credit	p14		2024-05-01 02:34:00+00	1	0.192	{"age":35,"region":"n"}	\N	F
credit	p15	v2	2024-05-01 02:45:00+00	0	0.201	\N	a	M
loans	p16		2024-05-01 02:56:00+00	1	0.004	{"age":62,"region":"n"}	b	F
credit	p17		2024-05-01 03:07:00+00	1	0.268	{"age":77,"region":"s"}	c	M
credit	p18	v2	2024-05-01 03:18:00+00	0	\N	{"age":31,"region":"n"}	a	F
credit	p19		2024-05-01 03:29:00+00	0	0.64	{"age":54,"region":"s"}	b	M
loans	p20		2024-05-01 03:40:00+00	0	0.091	\N	c	F
credit	p21	v2	2024-05-01 03:51:00+00	0	0.508	{"age":62,"region":"s"}	\N	M
credit	p22		2024-05-01 04:02:00+00	1	0.598	{"age":80,"region":"n"}	b	F
credit	p23		2024-05-01 04:13:00+00	1	0.388	{"age":61,"region":"s"}	c	M
loans	p24	v2	2024-05-01 04:24:00+00	1	0.816	{"age":41,"region":"n"}	a	F
credit	p25		2024-05-01 04:35:00+00	1	0.979	\N	b	M
credit	p26		2024-05-01 04:46:00+00	0	0.605	{"age":50,"region":"n"}	c	F
credit	p27	v2	2024-05-01 04:57:00+00	0	\N	{"age":63,"region":"s"}	a	M
loans	p28		2024-05-01 05:08:00+00	1	0.44	{"age":43,"region":"n"}	\N	F
credit	p29		2024-05-01 05:19:00+00	0	0.097	{"age":35,"region":"s"}	c	M
credit	p30	v2	2024-05-01 05:30:00+00	0	0.215	\N	a	F
credit	p31		2024-05-01 05:41:00+00	0	0.3	{"age":53,"region":"s"}	b	M
loans	p32		2024-05-01 05:52:00+00	0	0.132	{"age":80,"region":"n"}	c	F
credit	p33	v2	2024-05-01 06:03:00+00	0	0.945	{"age":61,"region":"s"}	a	M
credit	p34		2024-05-01 06:14:00+00	0	0.145	{"age":83,"region":"n"}	b	F
credit	p35		2024-05-01 06:25:00+00	1	0.928	\N	\N	M
loans	p36	v2	2024-05-01 06:36:00+00	0	\N	{"age":21,"region":"n"}	a	F
credit	p37		2024-05-01 06:47:00+00	0	0.642	{"age":30,"region":"s"}	b	M
credit	p38		2024-05-01 06:58:00+00	0	0.376	{"age":88,"region":"n"}	c	F
credit	p39	v2	2024-05-01 07:09:00+00	1	0.038	{"age":47,"region":"s"}	a	M
loans	p40		2024-05-01 07:20:00+00	0	0.468	\N	b	F
credit	p41		2024-05-01 07:31:00+00	0	0.322	{"age":50,"region":"s"}	c	M
credit	p42	v2	2024-05-01 07:42:00+00	1	0.372	{"age":72,"region":"n"}	\N	F
credit	p43		2024-05-01 07:53:00+00	1	0.123	{"age":47,"region":"s"}	b	M
loans	p44		2024-05-01 08:04:00+00	0	0.428	{"age":87,"region":"n"}	c	F
credit	p45	v2	2024-05-01 08:15:00+00	0	\N	\N	a	M
credit	p46		2024-05-01 08:26:00+00	0	0.344	{"age":22,"region":"n"}	b	F
credit	p47		2024-05-01 08:37:00+00	0	0.355	{"age":60,"region":"s"}	c	M
loans	p48	v2	2024-05-01 08:48:00+00	0	0.765	{"age":74,"region":"n"}	a	F
credit	p49		2024-05-01 08:59:00+00	1	0.933	{"age":83,"region":"s"}	\N	M
credit	p50		2024-05-01 09:10:00+00	1	0.753	\N	c	F
credit	p51	v2	2024-05-01 09:21:00+00	0	0.137	{"age":78,"region":"s"}	a	M
loans	p52		2024-05-01 09:32:00+00	0	0.014	{"age":48,"region":"n"}	b	F
credit	p53		2024-05-01 09:43:00+00	0	0.793	{"age":86,"region":"s"}	c	M
credit	p54	v2	2024-05-01 09:54:00+00	0	\N	{"age":54,"region":"n"}	a	F
credit	p55		2024-05-01 10:05:00+00	1	0.199	\N	b	M
loans	p56		2024-05-01 10:16:00+00	1	0.179	{"age":46,"region":"n"}	\N	F
credit	p57	v2	2024-05-01 10:27:00+00	0	0.573	{"age":42,"region":"s"}	a	M
credit	p58		2024-05-01 10:38:00+00	1	0.272	{"age":24,"region":"n"}	b	F
credit	p59		2024-05-01 10:49:00+00	0	0.98	{"age":86,"region":"s"}	c	M
loans	p60	v2	2024-05-01 11:00:00+00	0	0.521	\N	a	F
credit	p61		2024-05-01 11:11:00+00	0	0.743	{"age":59,"region":"s"}	b	M
credit	p62		2024-05-01 11:22:00+00	0	0.878	{"age":59,"region":"n"}	c	F
credit	p63	v2	2024-05-01 11:33:00+00	0	\N	{"age":69,"region":"s"}	\N	M
loans	p64		2024-05-01 11:44:00+00	1	0.43	{"age":84,"region":"n"}	b	F
credit	p65		2024-05-01 11:55:00+00	0	0.951	\N	c	M
credit	p66	v2	2024-05-01 12:06:00+00	1	0.806	{"age":66,"region":"n"}	a	F
credit	p67		2024-05-01 12:17:00+00	0	0.63	{"age":66,"region":"s"}	b	M
loans	p68		2024-05-01 12:28:00+00	0	0.333	{"age":62,"region":"n"}	c	F
credit	p69	v2	2024-05-01 12:39:00+00	1	0.051	{"age":46,"region":"s"}	a	M
credit	p70		2024-05-01 12:50:00+00	1	0.915	\N	\N	F
credit	p71		2024-05-01 13:01:00+00	0	0.112	{"age":71,"region":"s"}	c	M
loans	p72	v2	2024-05-01 13:12:00+00	0	\N	{"age":61,"region":"n"}	a	F
credit	p73		2024-05-01 13:23:00+00	0	0.659	{"age":45,"region":"s"}	b	M
credit	p74		2024-05-01 13:34:00+00	0	0.466	{"age":40,"region":"n"}	c	F
credit	p75	v2	2024-05-01 13:45:00+00	0	0.635	\N	a	M
loans	p76		2024-05-01 13:56:00+00	1	0.062	{"age":66,"region":"n"}	b	F
credit	p77		2024-05-01 14:07:00+00	0	0.815	{"age":47,"region":"s"}	\N	M
credit	p78	v2	2024-05-01 14:18:00+00	0	0.113	{"age":84,"region":"n"}	a	F
credit	p79		2024-05-01 14:29:00+00	0	0.878	{"age":83,"region":"s"}	b	M
loans	p80		2024-05-01 14:40:00+00	0	0.916	\N	c	F
credit	p81	v2	2024-05-01 14:51:00+00	1	\N	{"age":30,"region":"s"}	a	M
credit	p82		2024-05-01 15:02:00+00	1	0.253	{"age":20,"region":"n"}	b	F
credit	p83		2024-05-01 15:13:00+00	1	0.188	{"age":87,"region":"s"}	c	M
loans	p84	v2	2024-05-01 15:24:00+00	1	0.59	{"age":58,"region":"n"}	\N	F
credit	p85		2024-05-01 15:35:00+00	1	0.678	\N	b	M
credit	p86		2024-05-01 15:46:00+00	1	0.311	{"age":59,"region":"n"}	c	F
credit	p87	v2	2024-05-01 15:57:00+00	0	0.812	{"age":85,"region":"s"}	a	M
loans	p88		2024-05-01 16:08:00+00	0	0.611	{"age":35,"region":"n"}	b	F
credit	p89		2024-05-01 16:19:00+00	0	0.04	{"age":31,"region":"s"}	c	M
credit	p90	v2	2024-05-01 16:30:00+00	0	\N	\N	a	F
credit	p91		2024-05-01 16:41:00+00	0	0.854	{"age":19,"region":"s"}	\N	M
loans	p92		2024-05-01 16:52:00+00	1	0.318	{"age":21,"region":"n"}	c	F
credit	p93	v2	2024-05-01 17:03:00+00	1	0.627	{"age":27,"region":"s"}	a	M
credit	p94		2024-05-01 17:14:00+00	1	0.863	{"age":75,"region":"n"}	b	F
credit	p95		2024-05-01 17:25:00+00	0	0.129	\N	c	M
loans	p96	v2	2024-05-01 17:36:00+00	0	0.883	{"age":53,"region":"n"}	a	F
credit	p97		2024-05-01 17:47:00+00	0	0.639	{"age":32,"region":"s"}	b	M
credit	p98		2024-05-01 17:58:00+00	0	0.096	{"age":50,"region":"n"}	\N	F
credit	p99	v2	2024-05-01 18:09:00+00	0	\N	{"age":65,"region":"s"}	a	M
loans	p100		2024-05-01 18:20:00+00	0	0.804	\N	b	F
credit	p101		2024-05-01 18:31:00+00	1	0.722	{"age":40,"region":"s"}	c	M
credit	p102	v2	2024-05-01 18:42:00+00	0	0.162	{"age":80,"region":"n"}	a	F
credit	p103		2024-05-01 18:53:00+00	1	0.651	{"age":65,"region":"s"}	b	M
loans	p104		2024-05-01 19:04:00+00	0	0.945	{"age":33,"region":"n"}	c	F
credit	p105	v2	2024-05-01 19:15:00+00	1	0.253	\N	\N	M
credit	p106		2024-05-01 19:26:00+00	0	0.657	{"age":60,"region":"n"}	b	F
credit	p107		2024-05-01 19:37:00+00	1	0.134	{"age":25,"region":"s"}	c	M
loans	p108	v2	2024-05-01 19:48:00+00	0	\N	{"age":66,"region":"n"}	a	F
credit	p109		2024-05-01 19:59:00+00	1	0.372	{"age":77,"region":"s"}	b	M
credit	p110		2024-05-01 20:10:00+00	0	0.215	\N	c	F
credit	p111	v2	2024-05-01 20:21:00+00	1	0.33	{"age":79,"region":"s"}	a	M
loans	p112		2024-05-01 20:32:00+00	1	0.753	{"age":50,"region":"n"}	\N	F
credit	p113		2024-05-01 20:43:00+00	0	0.3	{"age":29,"region":"s"}	c	M
credit	p114	v2	2024-05-01 20:54:00+00	0	0.131	{"age":23,"region":"n"}	a	F
credit	p115		2024-05-01 21:05:00+00	1	0.131	\N	b	M
loans	p116		2024-05-01 21:16:00+00	1	0.906	{"age":70,"region":"n"}	c	F
credit	p117	v2	2024-05-01 21:27:00+00	1	\N	{"age":37,"region":"s"}	a	M
credit	p118		2024-05-01 21:38:00+00	0	0.62	{"age":79,"region":"n"}	b	F
credit	p119		2024-05-01 21:49:00+00	0	0.884	{"age":31,"region":"s"}	\N	M
loans	p120	v2	2024-05-01 22:00:00+00	1	0.711	\N	a	F
credit	p121		2024-05-01 22:11:00+00	1	0.727	{"age":23,"region":"s"}	b	M
credit	p122		2024-05-01 22:22:00+00	0	0.674	{"age":73,"region":"n"}	c	F
credit	p123	v2	2024-05-01 22:33:00+00	1	0.064	{"age":34,"region":"s"}	a	M
loans	p124		2024-05-01 22:44:00+00	0	0.191	{"age":55,"region":"n"}	b	F
credit	p125		2024-05-01 22:55:00+00	1	0.536	\N	c	M
credit	p126	v2	2024-05-01 23:06:00+00	0	\N	{"age":63,"region":"n"}	\N	F
credit	p127		2024-05-01 23:17:00+00	1	0.184	{"age":82,"region":"s"}	b	M
loans	p128		2024-05-01 23:28:00+00	0	0.645	{"age":27,"region":"n"}	c	F
credit	p129	v2	2024-05-01 23:39:00+00	0	0.939	{"age":69,"region":"s"}	a	M
credit	p130		2024-05-01 23:50:00+00	0	0.777	\N	b	F
credit	p131		2024-05-02 00:01:00+00	1	0.641	{"age":32,"region":"s"}	c	M
loans	p132	v2	2024-05-02 00:12:00+00	0	0.758	{"age":31,"region":"n"}	a	F
credit	p133		2024-05-02 00:23:00+00	0	0.445	{"age":28,"region":"s"}	\N	M
credit	p134		2024-05-02 00:34:00+00	0	0.033	{"age":45,"region":"n"}	c	F
credit	p135	v2	2024-05-02 00:45:00+00	0	\N	\N	a	M
loans	p136		2024-05-02 00:56:00+00	0	0.388	{"age":87,"region":"n"}	b	F
credit	p137		2024-05-02 01:07:00+00	0	0.381	{"age":57,"region":"s"}	c	M
credit	p138	v2	2024-05-02 01:18:00+00	0	0.919	{"age":44,"region":"n"}	a	F
credit	p139		2024-05-02 01:29:00+00	1	0.76	{"age":45,"region":"s"}	b	M
loans	p140		2024-05-02 01:40:00+00	0	0.148	\N	\N	F
credit	p141	v2	2024-05-02 01:51:00+00	0	0.825	{"age":44,"region":"s"}	a	M
credit	p142		2024-05-02 02:02:00+00	1	0.092	{"age":84,"region":"n"}	b	F
credit	p143		2024-05-02 02:13:00+00	0	0.117	{"age":30,"region":"s"}	c	M
loans	p144	v2	2024-05-02 02:24:00+00	0	\N	{"age":30,"region":"n"}	a	F
credit	p145		2024-05-02 02:35:00+00	0	0.75	\N	b	M
credit	p146		2024-05-02 02:46:00+00	1	0.914	{"age":72,"region":"n"}	c	F
credit	p147	v2	2024-05-02 02:57:00+00	0	0.068	{"age":33,"region":"s"}	\N	M
loans	p148		2024-05-02 03:08:00+00	0	0.033	{"age":25,"region":"n"}	b	F
credit	p149		2024-05-02 03:19:00+00	1	0.72	{"age":40,"region":"s"}	c	M
credit	p150	v2	2024-05-02 03:30:00+00	0	0.057	\N	a	F
credit	p151		2024-05-02 03:41:00+00	0	0.889	{"age":36,"region":"s"}	b	M
loans	p152		2024-05-02 03:52:00+00	1	0.394	{"age":83,"region":"n"}	c	F
credit	p153	v2	2024-05-02 04:03:00+00	1	\N	{"age":55,"region":"s"}	a	M
credit	p154		2024-05-02 04:14:00+00	1	0.503	{"age":26,"region":"n"}	\N	F
credit	p155		2024-05-02 04:25:00+00	1	0.176	\N	c	M
loans	p156	v2	2024-05-02 04:36:00+00	0	0.484	{"age":85,"region":"n"}	a	F
credit	p157		2024-05-02 04:47:00+00	0	0.266	{"age":31,"region":"s"}	b	M
credit	p158		2024-05-02 04:58:00+00	0	0.283	{"age":77,"region":"n"}	c	F
credit	p159	v2	2024-05-02 05:09:00+00	0	0.536	{"age":55,"region":"s"}	a	M
loans	p160		2024-05-02 05:20:00+00	1	0.791	\N	b	F
credit	p161		2024-05-02 05:31:00+00	0	0.179	{"age":36,"region":"s"}	\N	M
credit	p162	v2	2024-05-02 05:42:00+00	1	\N	{"age":27,"region":"n"}	a	F
credit	p163		2024-05-02 05:53:00+00	0	0.942	{"age":35,"region":"s"}	b	M
loans	p164		2024-05-02 06:04:00+00	0	0.208	{"age":34,"region":"n"}	c	F
credit	p165	v2	2024-05-02 06:15:00+00	0	0.497	\N	a	M
credit	p166		2024-05-02 06:26:00+00	0	0.041	{"age":72,"region":"n"}	b	F
credit	p167		2024-05-02 06:37:00+00	0	0.066	{"age":40,"region":"s"}	c	M
loans	p168	v2	2024-05-02 06:48:00+00	1	0.465	{"age":79,"region":"n"}	\N	F
credit	p169		2024-05-02 06:59:00+00	0	0.829	{"age":81,"region":"s"}	b	M
credit	p170		2024-05-02 07:10:00+00	0	0.708	\N	c	F
credit	p171	v2	2024-05-02 07:21:00+00	0	\N	{"age":68,"region":"s"}	a	M
loans	p172		2024-05-02 07:32:00+00	0	0.302	{"age":67,"region":"n"}	b	F
credit	p173		2024-05-02 07:43:00+00	1	0.757	{"age":74,"region":"s"}	c	M
credit	p174	v2	2024-05-02 07:54:00+00	0	0.597	{"age":29,"region":"n"}	a	F
credit	p175		2024-05-02 08:05:00+00	1	0.937	\N	\N	M
loans	p176		2024-05-02 08:16:00+00	1	0.514	{"age":38,"region":"n"}	c	F
credit	p177	v2	2024-05-02 08:27:00+00	0	0.575	{"age":24,"region":"s"}	a	M
credit	p178		2024-05-02 08:38:00+00	0	0.282	{"age":60,"region":"n"}	b	F
credit	p179		2024-05-02 08:49:00+00	0	0.644	{"age":75,"region":"s"}	c	M
loans	p180	v2	2024-05-02 09:00:00+00	0	\N	\N	a	F
credit	p181		2024-05-02 09:11:00+00	0	0.415	{"age":18,"region":"s"}	b	M
credit	p182		2024-05-02 09:22:00+00	0	0.335	{"age":67,"region":"n"}	\N	F
credit	p183	v2	2024-05-02 09:33:00+00	0	0.209	{"age":21,"region":"s"}	a	M
loans	p184		2024-05-02 09:44:00+00	0	0.065	{"age":57,"region":"n"}	b	F
credit	p185		2024-05-02 09:55:00+00	0	0.015	\N	c	M
credit	p186	v2	2024-05-02 10:06:00+00	0	0.469	{"age":52,"region":"n"}	a	F
credit	p187		2024-05-02 10:17:00+00	0	0.523	{"age":47,"region":"s"}	b	M
loans	p188		2024-05-02 10:28:00+00	0	0.085	{"age":86,"region":"n"}	c	F
credit	p189	v2	2024-05-02 10:39:00+00	0	\N	{"age":58,"region":"s"}	\N	M
credit	p190		2024-05-02 10:50:00+00	0	0.04	\N	b	F
credit	p191		2024-05-02 11:01:00+00	0	0.631	{"age":22,"region":"s"}	c	M
loans	p192	v2	2024-05-02 11:12:00+00	1	0.593	{"age":57,"region":"n"}	a	F
credit	p193		2024-05-02 11:23:00+00	1	0.196	{"age":38,"region":"s"}	b	M
credit	p194		2024-05-02 11:34:00+00	1	0.454	{"age":81,"region":"n"}	c	F
credit	p195	v2	2024-05-02 11:45:00+00	0	0.707	\N	a	M
loans	p196		2024-05-02 11:56:00+00	0	0.807	{"age":29,"region":"n"}	\N	F
credit	p197		2024-05-02 12:07:00+00	0	0.819	{"age":51,"region":"s"}	c	M
credit	p198	v2	2024-05-02 12:18:00+00	0	\N	{"age":65,"region":"n"}	a	F
credit	p199		2024-05-02 12:29:00+00	0	0.558	{"age":64,"region":"s"}	b	M
loans	p200		2024-05-02 12:40:00+00	1	0.744	\N	c	F
credit	p201	v2	2024-05-02 12:51:00+00	1	0.467	{"age":23,"region":"s"}	a	M
credit	p202		2024-05-02 13:02:00+00	0	0.338	{"age":72,"region":"n"}	b	F
credit	p203		2024-05-02 13:13:00+00	0	0.381	{"age":45,"region":"s"}	\N	M
loans	p204	v2	2024-05-02 13:24:00+00	0	0.447	{"age":78,"region":"n"}	a	F
credit	p205		2024-05-02 13:35:00+00	0	0.034	\N	b	M
credit	p206		2024-05-02 13:46:00+00	1	0.86	{"age":38,"region":"n"}	c	F
credit	p207	v2	2024-05-02 13:57:00+00	0	\N	{"age":59,"region":"s"}	a	M
loans	p208		2024-05-02 14:08:00+00	0	0.678	{"age":36,"region":"n"}	b	F
credit	p209		2024-05-02 14:19:00+00	0	0.183	{"age":60,"region":"s"}	c	M
credit	p210	v2	2024-05-02 14:30:00+00	1	0.293	\N	\N	F
credit	p211		2024-05-02 14:41:00+00	0	0.999	{"age":54,"region":"s"}	b	M
loans	p212		2024-05-02 14:52:00+00	0	0.372	{"age":43,"region":"n"}	c	F
credit	p213	v2	2024-05-02 15:03:00+00	0	0.948	{"age":38,"region":"s"}	a	M
credit	p214		2024-05-02 15:14:00+00	1	0.267	{"age":82,"region":"n"}	b	F
credit	p215		2024-05-02 15:25:00+00	0	0.494	\N	c	M
loans	p216	v2	2024-05-02 15:36:00+00	0	\N	{"age":27,"region":"n"}	a	F
credit	p217		2024-05-02 15:47:00+00	0	0.313	{"age":23,"region":"s"}	\N	M
credit	p218		2024-05-02 15:58:00+00	0	0.198	{"age":89,"region":"n"}	c	F
credit	p219	v2	2024-05-02 16:09:00+00	0	0.828	{"age":48,"region":"s"}	a	M
loans	p220		2024-05-02 16:20:00+00	0	0.768	\N	b	F
credit	p221		2024-05-02 16:31:00+00	0	0.373	{"age":65,"region":"s"}	c	M
credit	p222	v2	2024-05-02 16:42:00+00	1	0.317	{"age":57,"region":"n"}	a	F
credit	p223		2024-05-02 16:53:00+00	0	0.771	{"age":54,"region":"s"}	b	M
loans	p224		2024-05-02 17:04:00+00	0	0.817	{"age":22,"region":"n"}	\N	F
credit	p225	v2	2024-05-02 17:15:00+00	0	\N	\N	a	M
credit	p226		2024-05-02 17:26:00+00	1	0.683	{"age":59,"region":"n"}	b	F
credit	p227		2024-05-02 17:37:00+00	0	0.377	{"age":35,"region":"s"}	c	M
loans	p228	v2	2024-05-02 17:48:00+00	0	0.258	{"age":38,"region":"n"}	a	F
credit	p229		2024-05-02 17:59:00+00	0	0.631	{"age":52,"region":"s"}	b	M
credit	p230		2024-05-02 18:10:00+00	1	0.962	\N	c	F
credit	p231	v2	2024-05-02 18:21:00+00	1	0.306	{"age":34,"region":"s"}	\N	M
loans	p232		2024-05-02 18:32:00+00	1	0.423	{"age":36,"region":"n"}	b	F
credit	p233		2024-05-02 18:43:00+00	0	0.71	{"age":76,"region":"s"}	c	M
credit	p234	v2	2024-05-02 18:54:00+00	1	\N	{"age":32,"region":"n"}	a	F
credit	p235		2024-05-02 19:05:00+00	1	0.768	\N	b	M
loans	p236		2024-05-02 19:16:00+00	0	0.923	{"age":38,"region":"n"}	c	F
credit	p237	v2	2024-05-02 19:27:00+00	0	0.768	{"age":65,"region":"s"}	a	M
credit	p238		2024-05-02 19:38:00+00	0	0.344	{"age":33,"region":"n"}	\N	F
credit	p239		2024-05-02 19:49:00+00	0	0.489	{"age":36,"region":"s"}	c	M
loans	p240	v2	2024-05-02 20:00:00+00	1	0.441	\N	a	F
credit	p241		2024-05-02 20:11:00+00	0	0.136	{"age":77,"region":"s"}	b	M
credit	p242		2024-05-02 20:22:00+00	1	0.283	{"age":27,"region":"n"}	c	F
credit	p243	v2	2024-05-02 20:33:00+00	0	\N	{"age":33,"region":"s"}	a	M
loans	p244		2024-05-02 20:44:00+00	1	0.165	{"age":19,"region":"n"}	b	F
credit	p245		2024-05-02 20:55:00+00	0	0.015	\N	\N	M
credit	p246	v2	2024-05-02 21:06:00+00	0	0.163	{"age":19,"region":"n"}	a	F
credit	p247		2024-05-02 21:17:00+00	0	0.184	{"age":37,"region":"s"}	b	M
loans	p248		2024-05-02 21:28:00+00	0	0.406	{"age":77,"region":"n"}	c	F
credit	p249	v2	2024-05-02 21:39:00+00	0	0.161	{"age":48,"region":"s"}	a	M
credit	p250		2024-05-02 21:50:00+00	0	0.893	\N	b	F
credit	p251		2024-05-02 22:01:00+00	0	0.049	{"age":19,"region":"s"}	c	M
loans	p252	v2	2024-05-02 22:12:00+00	0	\N	{"age":65,"region":"n"}	\N	F
credit	p253		2024-05-02 22:23:00+00	0	0.214	{"age":25,"region":"s"}	b	M
credit	p254		2024-05-02 22:34:00+00	0	0.114	{"age":86,"region":"n"}	c	F
credit	p255	v2	2024-05-02 22:45:00+00	1	0.032	\N	a	M
loans	p256		2024-05-02 22:56:00+00	0	0.915	{"age":85,"region":"n"}	b	F
credit	p257		2024-05-02 23:07:00+00	0	0.666	{"age":89,"region":"s"}	c	M
credit	p258	v2	2024-05-02 23:18:00+00	0	0.57	{"age":32,"region":"n"}	a	F
credit	p259		2024-05-02 23:29:00+00	0	0.336	{"age":86,"region":"s"}	\N	M
loans	p260		2024-05-02 23:40:00+00	0	0.019	\N	c	F
credit	p261	v2	2024-05-02 23:51:00+00	0	\N	{"age":36,"region":"s"}	a	M
credit	p262		2024-05-03 00:02:00+00	0	0.851	{"age":67,"region":"n"}	b	F
credit	p263		2024-05-03 00:13:00+00	0	0.337	{"age":56,"region":"s"}	c	M
loans	p264	v2	2024-05-03 00:24:00+00	1	0.184	{"age":23,"region":"n"}	a	F
credit	p265		2024-05-03 00:35:00+00	1	0.448	\N	b	M
credit	p266		2024-05-03 00:46:00+00	0	0.278	{"age":48,"region":"n"}	\N	F
credit	p267	v2	2024-05-03 00:57:00+00	0	0.853	{"age":82,"region":"s"}	a	M
loans	p268		2024-05-03 01:08:00+00	0	0.003	{"age":24,"region":"n"}	b	F
credit	p269		2024-05-03 01:19:00+00	1	0.142	{"age":74,"region":"s"}	c	M
credit	p270	v2	2024-05-03 01:30:00+00	0	\N	\N	a	F
credit	p271		2024-05-03 01:41:00+00	0	0.212	{"age":34,"region":"s"}	b	M
loans	p272		2024-05-03 01:52:00+00	0	0.269	{"age":37,"region":"n"}	c	F
credit	p273	v2	2024-05-03 02:03:00+00	0	0.13	{"age":40,"region":"s"}	\N	M
credit	p274		2024-05-03 02:14:00+00	1	0.516	{"age":76,"region":"n"}	b	F
credit	p275		2024-05-03 02:25:00+00	1	0.55	\N	c	M
loans	p276	v2	2024-05-03 02:36:00+00	0	0.084	{"age":32,"region":"n"}	a	F
credit	p277		2024-05-03 02:47:00+00	0	0.608	{"age":37,"region":"s"}	b	M
credit	p278		2024-05-03 02:58:00+00	1	0.629	{"age":44,"region":"n"}	c	F
credit	p279	v2	2024-05-03 03:09:00+00	0	\N	{"age":50,"region":"s"}	a	M
loans	p280		2024-05-03 03:20:00+00	1	0.758	\N	\N	F
credit	p281		2024-05-03 03:31:00+00	0	0.74	{"age":30,"region":"s"}	c	M
credit	p282	v2	2024-05-03 03:42:00+00	0	0.698	{"age":45,"region":"n"}	a	F
credit	p283		2024-05-03 03:53:00+00	1	0.026	{"age":41,"region":"s"}	b	M
loans	p284		2024-05-03 04:04:00+00	0	0.205	{"age":87,"region":"n"}	c	F
credit	p285	v2	2024-05-03 04:15:00+00	0	0.279	\N	a	M
credit	p286		2024-05-03 04:26:00+00	0	0.86	{"age":48,"region":"n"}	b	F
credit	p287		2024-05-03 04:37:00+00	1	0.305	{"age":50,"region":"s"}	\N	M
loans	p288	v2	2024-05-03 04:48:00+00	1	\N	{"age":78,"region":"n"}	a	F
credit	p289		2024-05-03 04:59:00+00	1	0.173	{"age":33,"region":"s"}	b	M
credit	p290		2024-05-03 05:10:00+00	1	0.466	\N	c	F
credit	p291	v2	2024-05-03 05:21:00+00	1	0.739	{"age":82,"region":"s"}	a	M
loans	p292		2024-05-03 05:32:00+00	1	0.572	{"age":84,"region":"n"}	b	F
credit	p293		2024-05-03 05:43:00+00	0	0.075	{"age":46,"region":"s"}	c	M
credit	p294	v2	2024-05-03 05:54:00+00	0	0.474	{"age":26,"region":"n"}	\N	F
credit	p295		2024-05-03 06:05:00+00	0	0.067	\N	b	M
loans	p296		2024-05-03 06:16:00+00	0	0.865	{"age":86,"region":"n"}	c	F
credit	p297	v2	2024-05-03 06:27:00+00	1	\N	{"age":80,"region":"s"}	a	M
credit	p298		2024-05-03 06:38:00+00	0	0.369	{"age":58,"region":"n"}	b	F
credit	p299		2024-05-03 06:49:00+00	1	0.265	{"age":72,"region":"s"}	c	M
loans	p300	v2	2024-05-03 07:00:00+00	0	0.47	\N	a	F
credit	p301		2024-05-03 07:11:00+00	0	0.969	{"age":88,"region":"s"}	\N	M
credit	p302		2024-05-03 07:22:00+00	1	0.392	{"age":41,"region":"n"}	c	F
credit	p303	v2	2024-05-03 07:33:00+00	1	0.082	{"age":23,"region":"s"}	a	M
loans	p304		2024-05-03 07:44:00+00	0	0.579	{"age":58,"region":"n"}	b	F
credit	p305		2024-05-03 07:55:00+00	0	0.324	\N	c	M
credit	p306	v2	2024-05-03 08:06:00+00	0	\N	{"age":67,"region":"n"}	a	F
credit	p307		2024-05-03 08:17:00+00	0	0.803	{"age":72,"region":"s"}	b	M
loans	p308		2024-05-03 08:28:00+00	0	0.198	{"age":51,"region":"n"}	\N	F
credit	p309	v2	2024-05-03 08:39:00+00	0	0.166	{"age":59,"region":"s"}	a	M
credit	p310		2024-05-03 08:50:00+00	0	0.817	\N	b	F
credit	p311		2024-05-03 09:01:00+00	1	0.545	{"age":78,"region":"s"}	c	M
loans	p312	v2	2024-05-03 09:12:00+00	0	0.27	{"age":70,"region":"n"}	a	F
credit	p313		2024-05-03 09:23:00+00	1	0.542	{"age":47,"region":"s"}	b	M
credit	p314		2024-05-03 09:34:00+00	0	0.107	{"age":67,"region":"n"}	c	F
credit	p315	v2	2024-05-03 09:45:00+00	0	\N	\N	\N	M
loans	p316		2024-05-03 09:56:00+00	0	0.101	{"age":45,"region":"n"}	b	F
credit	p317		2024-05-03 10:07:00+00	1	0.849	{"age":35,"region":"s"}	c	M
credit	p318	v2	2024-05-03 10:18:00+00	0	0.044	{"age":56,"region":"n"}	a	F
credit	p319		2024-05-03 10:29:00+00	1	0.47	{"age":41,"region":"s"}	b	M
loans	p320		2024-05-03 10:40:00+00	0	0.07	\N	c	F
credit	p321	v2	2024-05-03 10:51:00+00	1	0.487	{"age":88,"region":"s"}	a	M
credit	p322		2024-05-03 11:02:00+00	0	0.438	{"age":55,"region":"n"}	\N	F
credit	p323		2024-05-03 11:13:00+00	1	0.354	{"age":60,"region":"s"}	c	M
loans	p324	v2	2024-05-03 11:24:00+00	0	\N	{"age":88,"region":"n"}	a	F
credit	p325		2024-05-03 11:35:00+00	1	0.808	\N	b	M
credit	p326		2024-05-03 11:46:00+00	1	0.781	{"age":36,"region":"n"}	c	F
credit	p327	v2	2024-05-03 11:57:00+00	0	0.162	{"age":18,"region":"s"}	a	M
loans	p328		2024-05-03 12:08:00+00	0	0.662	{"age":35,"region":"n"}	b	F
credit	p329		2024-05-03 12:19:00+00	1	0.139	{"age":54,"region":"s"}	\N	M
credit	p330	v2	2024-05-03 12:30:00+00	1	0.052	\N	a	F
credit	p331		2024-05-03 12:41:00+00	1	0.13	{"age":61,"region":"s"}	b	M
loans	p332		2024-05-03 12:52:00+00	1	0.587	{"age":51,"region":"n"}	c	F
credit	p333	v2	2024-05-03 13:03:00+00	1	\N	{"age":45,"region":"s"}	a	M
credit	p334		2024-05-03 13:14:00+00	1	0.755	{"age":20,"region":"n"}	b	F
credit	p335		2024-05-03 13:25:00+00	1	0.405	\N	c	M
loans	p336	v2	2024-05-03 13:36:00+00	0	0.407	{"age":33,"region":"n"}	\N	F
credit	p337		2024-05-03 13:47:00+00	0	0.311	{"age":81,"region":"s"}	b	M
credit	p338		2024-05-03 13:58:00+00	0	0.253	{"age":50,"region":"n"}	c	F
credit	p339	v2	2024-05-03 14:09:00+00	0	0.602	{"age":28,"region":"s"}	a	M
loans	p340		2024-05-03 14:20:00+00	0	0.146	\N	b	F
credit	p341		2024-05-03 14:31:00+00	0	0.475	{"age":79,"region":"s"}	c	M
credit	p342	v2	2024-05-03 14:42:00+00	0	\N	{"age":27,"region":"n"}	a	F
credit	p343		2024-05-03 14:53:00+00	0	0.129	{"age":29,"region":"s"}	\N	M
loans	p344		2024-05-03 15:04:00+00	1	0.093	{"age":83,"region":"n"}	c	F
credit	p345	v2	2024-05-03 15:15:00+00	1	0.938	\N	a	M
credit	p346		2024-05-03 15:26:00+00	1	0.918	{"age":43,"region":"n"}	b	F
credit	p347		2024-05-03 15:37:00+00	1	0.569	{"age":62,"region":"s"}	c	M
loans	p348	v2	2024-05-03 15:48:00+00	0	0.564	{"age":49,"region":"n"}	a	F
credit	p349		2024-05-03 15:59:00+00	0	0.997	{"age":71,"region":"s"}	b	M
credit	p350		2024-05-03 16:10:00+00	1	0.813	\N	\N	F
credit	p351	v2	2024-05-03 16:21:00+00	0	\N	{"age":65,"region":"s"}	a	M
loans	p352		2024-05-03 16:32:00+00	0	0.992	{"age":74,"region":"n"}	b	F
credit	p353		2024-05-03 16:43:00+00	1	0.453	{"age":39,"region":"s"}	c	M
credit	p354	v2	2024-05-03 16:54:00+00	0	0.373	{"age":85,"region":"n"}	a	F
credit	p355		2024-05-03 17:05:00+00	0	0.406	\N	b	M
loans	p356		2024-05-03 17:16:00+00	1	0.757	{"age":24,"region":"n"}	c	F
credit	p357	v2	2024-05-03 17:27:00+00	0	0.386	{"age":51,"region":"s"}	\N	M
credit	p358		2024-05-03 17:38:00+00	0	0.14	{"age":28,"region":"n"}	b	F
credit	p359		2024-05-03 17:49:00+00	0	0.564	{"age":22,"region":"s"}	c	M
loans	p360	v2	2024-05-03 18:00:00+00	0	\N	\N	a	F
credit	p361		2024-05-03 18:11:00+00	0	0.23	{"age":54,"region":"s"}	b	M
credit	p362		2024-05-03 18:22:00+00	1	0.304	{"age":34,"region":"n"}	c	F
credit	p363	v2	2024-05-03 18:33:00+00	0	0.374	{"age":53,"region":"s"}	a	M
loans	p364		2024-05-03 18:44:00+00	0	0.187	{"age":41,"region":"n"}	\N	F
credit	p365		2024-05-03 18:55:00+00	1	0.697	\N	c	M
credit	p366	v2	2024-05-03 19:06:00+00	0	0.296	{"age":53,"region":"n"}	a	F
credit	p367		2024-05-03 19:17:00+00	1	0.404	{"age":63,"region":"s"}	b	M
loans	p368		2024-05-03 19:28:00+00	0	0.253	{"age":65,"region":"n"}	c	F
credit	p369	v2	2024-05-03 19:39:00+00	0	\N	{"age":43,"region":"s"}	a	M
credit	p370		2024-05-03 19:50:00+00	0	0.154	\N	b	F
credit	p371		2024-05-03 20:01:00+00	0	0.08	{"age":58,"region":"s"}	\N	M
loans	p372	v2	2024-05-03 20:12:00+00	1	0.254	{"age":87,"region":"n"}	a	F
credit	p373		2024-05-03 20:23:00+00	1	0.991	{"age":61,"region":"s"}	b	M
credit	p374		2024-05-03 20:34:00+00	0	0.991	{"age":38,"region":"n"}	c	F
credit	p375	v2	2024-05-03 20:45:00+00	0	0.042	\N	a	M
loans	p376		2024-05-03 20:56:00+00	0	0.601	{"age":38,"region":"n"}	b	F
credit	p377		2024-05-03 21:07:00+00	1	0.328	{"age":68,"region":"s"}	c	M
credit	p378	v2	2024-05-03 21:18:00+00	1	\N	{"age":45,"region":"n"}	\N	F
credit	p379		2024-05-03 21:29:00+00	0	0.076	{"age":20,"region":"s"}	b	M
loans	p380		2024-05-03 21:40:00+00	1	0.333	\N	c	F
credit	p381	v2	2024-05-03 21:51:00+00	1	0.031	{"age":34,"region":"s"}	a	M
credit	p382		2024-05-03 22:02:00+00	0	0.205	{"age":84,"region":"n"}	b	F
credit	p383		2024-05-03 22:13:00+00	0	0.009	{"age":60,"region":"s"}	c	M
loans	p384	v2	2024-05-03 22:24:00+00	0	0.898	{"age":35,"region":"n"}	a	F
credit	p385		2024-05-03 22:35:00+00	0	0.093	\N	\N	M
credit	p386		2024-05-03 22:46:00+00	1	0.028	{"age":78,"region":"n"}	c	F
credit	p387	v2	2024-05-03 22:57:00+00	1	\N	{"age":33,"region":"s"}	a	M
loans	p388		2024-05-03 23:08:00+00	1	0.633	{"age":32,"region":"n"}	b	F
credit	p389		2024-05-03 23:19:00+00	1	0.903	{"age":25,"region":"s"}	c	M
credit	p390	v2	2024-05-03 23:30:00+00	1	0.333	\N	a	F
credit	p391		2024-05-03 23:41:00+00	1	0.796	{"age":55,"region":"s"}	b	M
loans	p392		2024-05-03 23:52:00+00	0	0.618	{"age":66,"region":"n"}	\N	F
credit	p393	v2	2024-05-04 00:03:00+00	1	0.26	{"age":34,"region":"s"}	a	M
credit	p394		2024-05-04 00:14:00+00	0	0.817	{"age":60,"region":"n"}	b	F
credit	p395		2024-05-04 00:25:00+00	0	0.519	\N	c	M
loans	p396	v2	2024-05-04 00:36:00+00	1	\N	{"age":26,"region":"n"}	a	F
credit	p397		2024-05-04 00:47:00+00	1	0.129	{"age":82,"region":"s"}	b	M
credit	p398		2024-05-04 00:58:00+00	0	0.812	{"age":87,"region":"n"}	c	F
credit	p399	v2	2024-05-04 01:09:00+00	0	0.177	{"age":74,"region":"s"}	\N	M
credit	year-9999		9999-12-31 23:59:00+00	1	\N	\N	\N	F
credit	not-a-number		2024-05-01 00:00:00+00	nan	\N	\N	\N	M
\.


--
-- Data for Name: rules; Type: TABLE DATA; Schema: @SCHEMA@; Owner: -
--

COPY @SCHEMA@.rules (rule_id, name, model, kind, spec, created, updated, evaluated_until) FROM stdin;
\.


--
-- Name: alert_deliveries alert_deliveries_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.alert_deliveries
    ADD CONSTRAINT alert_deliveries_pkey PRIMARY KEY (delivery_id);


--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (alert_id);


--
-- Name: api_keys api_keys_key_hash_key; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.api_keys
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (key_id);


--
-- Name: feature_names feature_names_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.feature_names
    ADD CONSTRAINT feature_names_pkey PRIMARY KEY (model, name);


--
-- Name: labels_seen labels_seen_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.labels_seen
    ADD CONSTRAINT labels_seen_pkey PRIMARY KEY (model, label);


--
-- Name: outcomes outcomes_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.outcomes
    ADD CONSTRAINT outcomes_pkey PRIMARY KEY (prediction_id, model);


--
-- Name: predictions predictions_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.predictions
    ADD CONSTRAINT predictions_pkey PRIMARY KEY (model, prediction_id);


--
-- Name: rules rules_pkey; Type: CONSTRAINT; Schema: @SCHEMA@; Owner: -
--

ALTER TABLE ONLY @SCHEMA@.rules
    ADD CONSTRAINT rules_pkey PRIMARY KEY (rule_id);


--
-- Name: alerts_rule_state; Type: INDEX; Schema: @SCHEMA@; Owner: -
--

CREATE INDEX alerts_rule_state ON @SCHEMA@.alerts USING btree (rule_id, state);


--
-- Name: predictions_model_ts; Type: INDEX; Schema: @SCHEMA@; Owner: -
--

CREATE INDEX predictions_model_ts ON @SCHEMA@.predictions USING btree (model, ts);


--
-- PostgreSQL database dump complete
--


