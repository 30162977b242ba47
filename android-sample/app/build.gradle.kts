// The sample app a city starts from: white-labelled by `assets/city.json` and the key in
// `cityApiKey` (gradle.properties or the CI's secrets), over the Curbside library (:curbside).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.curbside.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.curbside.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = rootProject.extra["curbsideVersion"] as String
        buildConfigField("String", "CITY_API_KEY", "\"${project.findProperty("cityApiKey") ?: ""}\"")
    }

    buildFeatures { buildConfig = true }

    // The core's library stays uncompressed and page-aligned in the APK (16 KB pages).
    packaging { jniLibs { useLegacyPackaging = false } }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":curbside"))
    implementation("androidx.core:core:1.12.0")
    implementation("androidx.work:work-runtime:2.10.0")
}
