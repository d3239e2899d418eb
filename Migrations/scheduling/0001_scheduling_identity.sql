-- The scheduling service's schema: the directory's root (regions, schools) and sign-in.
CREATE SCHEMA IF NOT EXISTS scheduling;

-- Mainland China's 31 provincial-level regions by GB/T 2260 code.
CREATE TABLE scheduling.regions (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{6}$'),
    name text NOT NULL,
    name_zh text NOT NULL
);

INSERT INTO scheduling.regions (code, name, name_zh) VALUES
    ('110000', 'Beijing', '北京'),
    ('120000', 'Tianjin', '天津'),
    ('130000', 'Hebei', '河北'),
    ('140000', 'Shanxi', '山西'),
    ('150000', 'Inner Mongolia', '内蒙古'),
    ('210000', 'Liaoning', '辽宁'),
    ('220000', 'Jilin', '吉林'),
    ('230000', 'Heilongjiang', '黑龙江'),
    ('310000', 'Shanghai', '上海'),
    ('320000', 'Jiangsu', '江苏'),
    ('330000', 'Zhejiang', '浙江'),
    ('340000', 'Anhui', '安徽'),
    ('350000', 'Fujian', '福建'),
    ('360000', 'Jiangxi', '江西'),
    ('370000', 'Shandong', '山东'),
    ('410000', 'Henan', '河南'),
    ('420000', 'Hubei', '湖北'),
    ('430000', 'Hunan', '湖南'),
    ('440000', 'Guangdong', '广东'),
    ('450000', 'Guangxi', '广西'),
    ('460000', 'Hainan', '海南'),
    ('500000', 'Chongqing', '重庆'),
    ('510000', 'Sichuan', '四川'),
    ('520000', 'Guizhou', '贵州'),
    ('530000', 'Yunnan', '云南'),
    ('540000', 'Tibet', '西藏'),
    ('610000', 'Shaanxi', '陕西'),
    ('620000', 'Gansu', '甘肃'),
    ('630000', 'Qinghai', '青海'),
    ('640000', 'Ningxia', '宁夏'),
    ('650000', 'Xinjiang', '新疆');

CREATE TABLE scheduling.schools (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Unique nationally, and the prefix of generated usernames.
    code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,31}$'),
    region text NOT NULL REFERENCES scheduling.regions (code),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schools_region ON scheduling.schools (region);

CREATE TABLE scheduling.users (
    id uuid PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('admin', 'teacher', 'student')),
    school_id uuid REFERENCES scheduling.schools (id),
    -- NULL until the user has a password (an imported user sets it on activation).
    password_hash text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_school ON scheduling.users (school_id);

-- A login family: one sign-in and every refresh token rotated from it. Revoking the family
-- (logout, or a spent token presented again) ends them all.
CREATE TABLE scheduling.login_families (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES scheduling.users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    revoked_reason text
);
CREATE INDEX login_families_user ON scheduling.login_families (user_id);

-- Refresh tokens are kept only as SHA-256 hashes: a leaked table signs nobody in.
CREATE TABLE scheduling.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id uuid NOT NULL REFERENCES scheduling.login_families (id),
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    spent_at timestamptz
);
CREATE INDEX refresh_tokens_family ON scheduling.refresh_tokens (family_id);
